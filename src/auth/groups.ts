// ACL group names, shared by API keys, source configuration and source records so that a group
// written in one place can always be matched in another.

/** Letters (any script), digits, `_ . : -`; 1–64 characters. No spaces: "sales team" is a typo for two groups or none. */
export const GROUP_NAME_RE = /^[\p{L}\p{N}_.:-]{1,64}$/u;

export const GROUP_NAME_RULE = 'letters, digits, _ . : - ; at most 64';

export const isGroupName = (g: string): boolean => GROUP_NAME_RE.test(g);
