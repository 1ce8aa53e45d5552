"""The `file get activelog` announcement: the file summary, the no-files answers (whose wording the
reference marks unverified, so several are accepted), and anything else refused with the text."""

from __future__ import annotations

import pytest

from ops.parsers.activelog import Announcement, ParseError, parse_announcement

SUMMARY = """Please wait while the system is gathering files info ...done.\r
Sub-directories were traversed.\r
Number of files affected: 1,204\r
Total size in Bytes: 2,702,728\r
Total size in Kbytes: 2639.3828\r
Would you like to proceed [y/n]? """


def test_summary_with_thousands_separators() -> None:
    assert parse_announcement(SUMMARY) == Announcement(files=1204, bytes=2702728, kbytes=2639.3828, traversed=True)


@pytest.mark.parametrize("answer", [
    "No files matched the criteria.", "no file found", "Files not found for the given criteria",
    "File not found", "No matching files", "Number of files affected: 0\nTotal size in Bytes: 0",
])
def test_no_files_in_the_wordings_seen_or_likely(answer: str) -> None:
    assert parse_announcement("Please wait while the system is gathering files info ...done.\n" + answer) is None


def test_any_other_answer_is_refused_with_its_text() -> None:
    with pytest.raises(ParseError, match="log partition is being rotated"):
        parse_announcement("Please wait ...done.\nThe log partition is being rotated, please retry later.")
