"""Unit tests of train_lora.py's torch-free parts (run by train-lora.test.ts, or: python3 -m unittest)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_lora as T  # noqa: E402


class CharTokenizer:
    """One token per character, so label masks can be read back as text."""

    def __init__(self, style):
        self.style = style

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        if self.style == "chatml":  # Qwen2
            out = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
            return out + ("<|im_start|>assistant\n" if add_generation_prompt else "")
        # DeepSeek-R1 style: system text first, reasoning removed from assistant turns, the
        # generation prompt opens <think>. "lastturn" keeps the reasoning of the final turn only
        # (Qwen3-like), so earlier renderings are not prefixes of later ones.
        out = "<bos>" + "".join(m["content"] for m in messages if m["role"] == "system")
        for i, m in enumerate(messages):
            if m["role"] == "user":
                out += "<User>" + m["content"]
            elif m["role"] == "assistant":
                keep = self.style == "lastturn" and i == len(messages) - 1
                out += "<Assistant>" + (m["content"] if keep else m["content"].split("</think>")[-1]) + "<eos>"
        return out + ("<Assistant><think>\n" if add_generation_prompt else "")


def learned_text(sample):
    return "".join(chr(i) for i, label in zip(sample["input_ids"], sample["labels"]) if label != T.IGNORE_INDEX)


CONVO = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Q1"},
    {"role": "assistant", "content": "A1"},
    {"role": "user", "content": "Q2"},
    {"role": "assistant", "content": "A2"},
]


class MaskingTest(unittest.TestCase):
    def test_chatml_learns_content_and_end_marker_only(self):
        s = T.tokenize_sample(CharTokenizer("chatml"), CONVO, 10_000)
        self.assertEqual(learned_text(s), "A1<|im_end|>\nA2<|im_end|>\n")
        self.assertEqual("".join(chr(i) for i in s["input_ids"]), CharTokenizer("chatml").apply_chat_template(CONVO))

    def test_deepseek_style_header_is_not_learned(self):
        s = T.tokenize_sample(CharTokenizer("deepseek"), CONVO, 10_000)
        self.assertEqual(learned_text(s), "A1<eos>A2<eos>")

    THINK = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>r</think>Answer"},
             {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "B"}]

    def test_template_rewriting_every_turn_alike_learns_the_rendered_answer(self):
        s = T.tokenize_sample(CharTokenizer("deepseek"), self.THINK, 10_000)
        self.assertEqual(learned_text(s), "Answer<eos>B<eos>")

    def test_template_rewriting_history_only_falls_back_to_the_content_string(self):
        # Turn 1 is rendered without its reasoning once it is history, so its verbatim content is
        # not in the full rendering: that turn teaches nothing; the last turn is still learned.
        s = T.tokenize_sample(CharTokenizer("lastturn"), self.THINK, 10_000)
        self.assertEqual(learned_text(s), "B<eos>")
        convo = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "Plain"}] + self.THINK[2:]
        s = T.tokenize_sample(CharTokenizer("lastturn"), convo, 10_000)
        self.assertEqual(learned_text(s), "Plain<eos>B<eos>")

    def test_truncation_that_removes_every_answer_returns_none(self):
        self.assertIsNone(T.tokenize_sample(CharTokenizer("chatml"), CONVO, 20))


class DataTest(unittest.TestCase):
    def test_sample_problems(self):
        self.assertIsNone(T.sample_problem({"messages": CONVO, "meta": {"kind": "refusal"}}))
        self.assertIn("role", T.sample_problem({"messages": [{"role": "bot", "content": "x"}]}))
        self.assertIn("no assistant", T.sample_problem({"messages": [{"role": "user", "content": "x"}]}))
        self.assertIn("user message before", T.sample_problem({"messages": [{"role": "assistant", "content": "x"}]}))
        self.assertIn("empty assistant", T.sample_problem({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " "}]}))

    def test_epoch_order_is_deterministic_and_balanced(self):
        a = T.epoch_order(8, 0, 42, 2, 0, 2)
        self.assertEqual(a, T.epoch_order(8, 0, 42, 2, 0, 2))
        self.assertNotEqual(a, T.epoch_order(8, 1, 42, 2, 0, 2))
        b = T.epoch_order(8, 0, 42, 2, 1, 2)
        self.assertEqual(len(a), len(b))  # DDP processes must take the same number of steps
        self.assertEqual(sorted(i for batch in a + b for i in batch), list(range(8)))

    def test_epoch_order_pads_by_wrapping(self):
        batches = T.epoch_order(3, 0, 1, 2, 0, 2) + T.epoch_order(3, 0, 1, 2, 1, 2)
        seen = [i for b in batches for i in b]
        self.assertEqual(len(seen), 4)
        self.assertEqual(set(seen), {0, 1, 2})


class ConfigTest(unittest.TestCase):
    def test_unknown_and_bad_keys_are_reported(self):
        _, errors = T.validate_config({"run_name": "r", "base_model": "m", "data": {"train": "t", "val": "v", "typo": 1}, "output_dir": "o"})
        self.assertEqual(errors, ["data.typo: unknown key"])
        _, errors = T.validate_config({"run_name": "r", "base_model": "m", "data": {"train": "t", "val": "v"}, "output_dir": "o",
                                       "training": {"precision": "int4", "learning_rate": 5}})
        self.assertIn("training.precision: one of \"bf16\", \"fp16\", \"fp32\"", errors)
        self.assertIn("training.learning_rate: number in (0, 1)", errors)


if __name__ == "__main__":
    unittest.main()
