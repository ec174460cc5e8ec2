// Mistake diagnostics (issue 11, item 3): the spread of wrong answers, on hand-counted cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import { errorKind, mistakeSpread } from "../src/lab/mistakes";
import { mistakeRows } from "../src/figures/figures-base";

test("error kinds are answer − truth, signed, or 'no answer'", () => {
  assert.equal(errorKind({ answer: 15, truth: 14 }), "+1");
  assert.equal(errorKind({ answer: 2, truth: 14 }), "-12");
  assert.equal(errorKind({ answer: null, truth: 14 }), "no answer");
});

test("the spread counts wrong answers, distinct wrong values and kinds, and the top kind's share", () => {
  const answered = [
    { answer: 10, truth: 10 }, // right: not counted
    { answer: 11, truth: 10 }, // +1
    { answer: 21, truth: 20 }, // +1 (another value, same kind)
    { answer: 11, truth: 10 }, // +1 (same value again)
    { answer: 7, truth: 10 }, // -3
    { answer: null, truth: 5 }, // no answer
  ];
  const s = mistakeSpread(answered);
  assert.equal(s.n, 6);
  assert.equal(s.wrong, 5);
  assert.equal(s.distinctWrong, 4); // 11, 21, 7, none
  assert.equal(s.distinctKinds, 3); // +1, -3, no answer
  assert.equal(s.topKind, "+1");
  assert.equal(s.topKindShare, 60); // 3 of 5
  assert.deepEqual(s.kinds, [{ kind: "+1", count: 3 }, { kind: "-3", count: 1 }, { kind: "no answer", count: 1 }]);
  const none = mistakeSpread([{ answer: 3, truth: 3 }]);
  assert.deepEqual([none.wrong, none.topKind, none.topKindShare, none.distinctKinds], [0, null, null, 0]);
});

test("the notebook's rows show the top kind with its share, and no labels as empty cells", () => {
  const spread = mistakeSpread([{ answer: 11, truth: 10 }, { answer: 11, truth: 10 }, { answer: 3, truth: 10 }]);
  const [row] = mistakeRows([{ family: "qwen-math-7b", label: "toy Qwen2.5-Math-7B", world: 1, greedy: spread, greedyCode: spread, greedyLanguage: mistakeSpread([]), labels: null }]);
  assert.equal(row.world, 1);
  assert.equal(row["top error kind"], "+1 (67%)");
  assert.equal(row["top kind, language"], null);
  assert.equal(row["wrong majority labels (train)"], null);
  assert.equal(row["error kinds"], 2);
});
