"""What ``make train`` feeds the reader: question groups, the losses, a teacher's logits and the decline
threshold (no model is trained here)."""

from __future__ import annotations

import numpy as np
import torch

from index.search.reader import WEIGHTS_DIR, Reader
from training.data import Example, is_gold
from training.reader import _threshold, distill_loss, groups, listwise_loss, teacher_logits

GOLD = "The council will raise council tax by 4.9% from April."
ANSWER = f"Council raises tax. {GOLD}"
AFTER_ANSWER = "Council raises tax. Opposition councillors called the rise unfair."
ELSEWHERE = "Council raises tax. The budget meeting is on Thursday."


def example(gold: bool) -> Example:
    labels = (1.0, 0.0, 0.0) if gold else (0.0, 0.0, 0.0)
    return Example("How much will council tax rise?", "tax", (ANSWER, AFTER_ANSWER, ELSEWHERE),
                   (0.9, 0.6, 0.3), labels, gold)


def test_a_sentence_is_gold_when_it_holds_a_span_or_is_a_long_piece_of_one() -> None:
    assert is_gold(GOLD, ["council tax by 4.9%"])
    assert is_gold("The council will raise council tax", [GOLD])  # the annotator's span runs on
    assert not is_gold("The council will", [GOLD])  # under four words: too short to count
    assert not is_gold("The budget meeting is on Thursday.", [GOLD])


def test_a_group_keeps_the_positives_and_the_best_ranked_negatives() -> None:
    ((question, passages, priors, labels),) = groups([example(True)], negatives=1)
    assert question == "How much will council tax rise?"
    assert passages == [ANSWER, AFTER_ANSWER] and priors == [0.9, 0.6] and labels == [1.0, 0.0]


def test_an_unanswerable_question_keeps_only_negatives() -> None:
    ((_, passages, _, labels),) = groups([example(False)], negatives=7)
    assert len(passages) == 3 and labels == [0.0, 0.0, 0.0]


def test_the_loss_prefers_the_right_choice() -> None:
    labels = torch.tensor([1.0, 0.0])
    assert listwise_loss(torch.tensor([4.0, -4.0]), labels) < listwise_loss(torch.tensor([-4.0, 4.0]), labels)
    none = torch.tensor([0.0, 0.0])  # unanswerable: "none of them" (a fixed logit of 0) is right
    assert listwise_loss(torch.tensor([-4.0, -4.0]), none) < listwise_loss(torch.tensor([4.0, 4.0]), none)


def test_the_threshold_declines_at_most_five_percent() -> None:
    best = np.linspace(0.01, 1.0, 100)
    assert (best < _threshold(best)).sum() == 5


def test_the_distillation_loss_is_least_where_the_student_chooses_as_the_teacher_does() -> None:
    teacher = torch.tensor([2.0, -1.0, 0.5])
    student = teacher.clone().requires_grad_(True)
    distill_loss(student, teacher).backward()
    assert student.grad is not None and student.grad.abs().max() < 1e-6  # the minimum: nothing to learn
    assert distill_loss(torch.tensor([-1.0, 2.0, 0.5]), teacher) > distill_loss(teacher, teacher)
    # "none of them" takes part: a teacher sure nothing answers pulls every passage down
    unsure = torch.tensor([0.0, 0.0, 0.0])
    assert distill_loss(unsure - 3, torch.full((3,), -6.0)) < distill_loss(unsure + 3, torch.full((3,), -6.0))


def test_a_teachers_logits_are_what_the_reader_itself_scores() -> None:
    data = groups([example(True)], negatives=7)
    (logits,) = teacher_logits(WEIGHTS_DIR, data)
    question, passages, priors, _ = data[0]
    probabilities = Reader.load(WEIGHTS_DIR, precision="float32").score(question, passages, np.array(priors))
    assert logits.shape == (3,)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), probabilities, atol=1e-5)
