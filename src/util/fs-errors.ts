// File-system errors in words an operator acts on: which path, and what is wrong with it.

const WHY: Record<string, string> = {
  ENOENT: 'does not exist',
  EACCES: 'is not readable by this user (permission denied)',
  EPERM: 'is not accessible (operation not permitted)',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'has a file where a folder is expected in its path',
  ENOSPC: 'cannot be written: the disk is full',
  EROFS: 'cannot be written: the file system is read-only',
  EMFILE: 'cannot be opened: too many open files',
};

/** "file /x/y.csv does not exist" for a Node fs error; other errors keep their message. */
export function describeFsError(err: unknown, what: string, file: string): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why = code ? WHY[code] : undefined;
  return new Error(why ? `${what} ${file} ${why}` : `${what} ${file}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
