"""Password strength with zxcvbn: its lists of common passwords, names and words, and
its patterns (keyboard walks, repeats, dates, l33t), as ASVS 2.1.7 asks."""

from __future__ import annotations

from collections.abc import Sequence

from zxcvbn import zxcvbn

# zxcvbn's scores: 0-1 mean fewer than ~10^6 guesses (common passwords and their
# variants), which an online attacker could try; 2 and up are accepted.
MIN_SCORE = 2
# zxcvbn's cost grows with length; the first 72 characters decide any weakness it knows.
CHECKED_LENGTH = 72


class ZxcvbnStrength:
    def weakness(self, password: str, *, user_inputs: Sequence[str] = ()) -> str | None:
        result = zxcvbn(password[:CHECKED_LENGTH],
                        user_inputs=[i for i in user_inputs if i][:10])
        if result["score"] >= MIN_SCORE:
            return None
        feedback = result["feedback"]
        reason = feedback["warning"] or "This password is too easy to guess."
        hints = " ".join(feedback["suggestions"])
        return f"{reason} {hints}".strip()
