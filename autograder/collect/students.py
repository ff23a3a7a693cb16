"""The students' names, e-mail addresses and LMS ids, as a download gave them, into nbgrader's
gradebook, so that formgrader shows "Hart, Amelia" rather than "None, None".

A name already in the gradebook is never overwritten: an instructor's imported
class list (`nbgrader db student import`) knows better than a folder name. Also read
here: each gradebook student's e-mail address, which `collect --student-ids email` takes
their id by (`identity`). Only the gradebook's Student rows: the records themselves are
`autograder.roster`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..nbgrader_cli import path_with_this_environment
from ..roster import LmsHandIn
from .report import CollectError


@contextmanager
def _alembic_on_path() -> Iterator[None]:
    """nbgrader's Gradebook runs `alembic` from PATH when it makes a new gradebook: this environment's."""
    before = os.environ.get("PATH")
    os.environ["PATH"] = path_with_this_environment()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = before


def name_students(db_url: str, course_id: str, records: dict[str, LmsHandIn]) -> list[str]:
    """Give each LMS student of `records` their first and last name, e-mail address (Moodle's worksheet) and
    lms_user_id (when the student id is the LMS's) where the gradebook has none; the ids of the students changed. Hand-ins that came from no
    LMS are left alone."""
    changed: list[str] = []
    if not any(record.lms for record in records.values()):
        return changed  # nothing to name: the gradebook is not even opened
    with _alembic_on_path(), Gradebook(db_url, course_id) as gb:
        for student, record in sorted(records.items()):
            if not record.lms:
                continue
            try:
                known = gb.find_student(student)
            except MissingEntry:
                known = None
            first, last = record.names
            # the LMS's user id only where it is the student id: a Moodle participant id is one assignment's
            lms_user_id = student if record.lms_id is None else None
            wanted = {"first_name": first, "last_name": last, "email": record.email, "lms_user_id": lms_user_id}
            fields = {k: v for k, v in wanted.items() if v is not None and not (known and getattr(known, k))}
            if fields or known is None:
                gb.update_or_create_student(student, **fields)
                changed.append(student)
    return changed


def _no_gradebook_yet(db_url: str) -> bool:
    """A SQLite gradebook whose file does not exist: opening it would make one."""
    try:
        url = make_url(db_url)
    except ArgumentError:
        return False  # Gradebook says what is wrong with it
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not Path(database).exists()


def gradebook_emails(db_url: str, course_id: str) -> dict[str, str | None]:
    """Each gradebook student's id and e-mail address; empty when the course has no gradebook yet (none is
    made just to look). CollectError when the gradebook cannot be read: nothing is collected then."""
    if _no_gradebook_yet(db_url):
        return {}
    try:
        with _alembic_on_path(), Gradebook(db_url, course_id) as gb:
            return {student.id: student.email for student in gb.students}
    except (SQLAlchemyError, OSError) as error:
        raise CollectError(f"the gradebook ({db_url}) cannot be read ({error}), and --student-ids email takes "
                           "the ids of students it knows by their e-mail address: nothing was collected") from None
