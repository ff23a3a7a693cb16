"""Which nbgrader student id each Moodle hand-in gets: `collect --student-ids participant|email`.

Moodle's download names each hand-in by a participant id, and that id belongs to one assignment.
mod/assign keeps a row per assignment and user in its assign_user_mapping table ("Map an assignment
specific id number to a user", mod/assign/db/install.xml), and the participant id is the row's own id
(mod/assign/locallib.php: get_uniqueid_for_user_static looks the row up by assignment and user, and
allocate_unique_ids adds the missing rows, in shuffled order, the first time an assignment needs them).
So one person has a different number in every assignment: taken as the student id (`PARTICIPANT`, the
default), a course of several assignments lists each person once per assignment in formgrader and in
the all-assignments CSV.

`EMAIL` gives each person one id instead, found by the "Email address" column of the assignment's
grading worksheet: the id of the gradebook student with that address (a class list imported with
`nbgrader db student import` keeps its ids), else the address itself in lower case. The participant id
stays with the hand-in (`HandIn.lms_id`, then `LmsHandIn.lms_id`): grades and feedback go back to this
assignment in Moodle under it.

Any doubt (no worksheet, no e-mail column or address, one address for two participants or for two
gradebook students, an address that is no usable id, a participant this assignment already holds under
another id) stops collect before anything is written: merging two people, or splitting one, is what
this exists to prevent.

Not here: reading the worksheet (`worksheet`) and the gradebook (`students`), placing (`place`, `newest`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace

from ..roster import MOODLE, LmsHandIn
from .lms import SAFE_ID, HandIn
from .report import CollectError
from .worksheet import EMAIL as EMAIL_COLUMN
from .worksheet import Row, Worksheet

PARTICIPANT, EMAIL = "participant", "email"
CHOICES = (PARTICIPANT, EMAIL)
MAX_LISTED = 10

PARTICIPANT_HINT = (
    "Student ids: Moodle's participant ids, which belong to this assignment alone (Moodle numbers each person "
    "anew in every assignment, so in a course of several one person shows as several students); for one id per "
    "person, collect every assignment with --worksheet WORKSHEET.csv --student-ids email.")
HIDDEN_IDENTITY = (
    "Moodle leaves identity fields out of the worksheet when the site does not show them to graders (Site "
    "administration > Users > Permissions > User policies > Show user identity), and leaves out names and "
    "identity fields while an assignment with anonymous submissions has not revealed them")


def check_choice(student_ids: str, sheet: Worksheet | None) -> None:
    """CollectError, before the download is read, when the ids cannot be taken the way asked."""
    if student_ids not in CHOICES:
        raise CollectError(f"--student-ids {student_ids!r}: choose {' or '.join(CHOICES)}. Nothing was collected")
    if student_ids != EMAIL:
        return
    if sheet is None:
        raise CollectError(
            "--student-ids email takes each student's id from their e-mail address in Moodle's grading worksheet: "
            "give the assignment's worksheet with --worksheet WORKSHEET.csv (Submissions > Grading action > "
            "Download grading worksheet). Nothing was collected")
    if EMAIL_COLUMN not in sheet.columns:
        raise CollectError(
            f"--student-ids email: the worksheet {sheet.path} has no {EMAIL_COLUMN!r} column. {HIDDEN_IDENTITY}. "
            "Download it again once Moodle shows the addresses, or collect without --student-ids email "
            "(participant ids). Nothing was collected")


def _addressed(emails: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Address in lower case -> the keys that have it."""
    found: dict[str, list[str]] = defaultdict(list)
    for key, email in emails.items():
        if email and email.strip():
            found[email.strip().lower()].append(key)
    return found


def _who(row: Row) -> str:
    return f"Participant {row.participant} ({row.full_name + ', ' if row.full_name else ''}line {row.line})"


def _student_id(participant: str, sheet: Worksheet, sharing: Mapping[str, list[str]],
                owners: Mapping[str, list[str]], gradebook: Mapping[str, str | None]) -> tuple[str | None, str]:
    """The participant's student id, or None and why it cannot be told."""
    row = sheet.rows.get(participant)
    if row is None:
        return None, (f"Participant {participant} handed in, but the worksheet has no row for them: is it the "
                      "worksheet of the same assignment (and group) as the zip?")
    if not row.email:
        return None, f"{_who(row)} has no e-mail address in the worksheet"
    address = row.email.strip().lower()
    others = [p for p in sharing[address] if p != participant]
    if others:
        return None, (f"{_who(row)} has the same address ({row.email}) as "
                      f"{' and '.join(_who(sheet.rows[p]) for p in others)}: two people with one address cannot "
                      "be told apart; give each their own address in Moodle")
    found = sorted(owners.get(address, []))
    if len(found) > 1:
        return None, (f"{_who(row)}: the gradebook has {len(found)} students with the address {row.email} "
                      f"({', '.join(found)}); keep it on one of them (nbgrader db student add)")
    student = found[0] if found else address
    held = gradebook.get(student)
    if not found and held and held.strip().lower() != address:
        return None, (f"{_who(row)}: the gradebook's student {student} has another address ({held}), so may be "
                      "someone else; correct the address in the gradebook or in Moodle")
    if not SAFE_ID.fullmatch(student):
        return None, (f"{_who(row)}: {student!r} is not usable as a student id (letters, digits and . _ - @ + only, "
                      "starting with a letter or digit, at most 100): give this person an id in the gradebook "
                      f"with that address (nbgrader db student add ID --email={row.email!r})")
    return student, ""


def _listed(problems: list[str]) -> str:
    """One problem a line, indented, the first MAX_LISTED of them."""
    shown = problems[:MAX_LISTED] + ([f"... and {len(problems) - MAX_LISTED} more"]
                                     if len(problems) > MAX_LISTED else [])
    return "\n  " + "\n  ".join(shown) + "\n"


def by_email(handins: list[HandIn], sheet: Worksheet, gradebook: Mapping[str, str | None]) -> list[HandIn]:
    """The hand-ins, each Moodle one with the student id of its participant's e-mail address and the
    participant id kept as `lms_id`; CollectError naming every participant whose id cannot be told.

    `gradebook` is the gradebook's students: id -> e-mail address (`students.gradebook_emails`)."""
    sharing = _addressed({p: row.email for p, row in sheet.rows.items()})
    owners = _addressed(gradebook)
    problems: list[str] = []
    ids: dict[str, str] = {}  # participant id -> student id
    for participant in sorted({h.student for h in handins if h.lms == MOODLE}, key=int):
        student, why = _student_id(participant, sheet, sharing, owners, gradebook)
        if student is None:
            problems.append(why)
        else:
            ids[participant] = student
    whose: dict[str, list[str]] = defaultdict(list)
    for participant, student in ids.items():
        whose[student].append(f"Participant {participant}")
    for h in handins:
        if h.lms != MOODLE and h.student in whose and h.entry.source not in whose[h.student]:
            whose[h.student].append(h.entry.source)  # a plain folder of the download with that very name
    problems += [f"{' and '.join(sources)} would share the student id {student}"
                 for student, sources in sorted(whose.items()) if len(sources) > 1]
    if problems:
        raise CollectError(f"--student-ids email: not every student id can be told from the worksheet {sheet.path}, "
                           f"so nothing was collected:{_listed(problems)}Correct that and collect again, or collect "
                           "without --student-ids email (participant ids)")
    return [replace(h, student=ids[h.student], lms_id=h.student) if h.lms == MOODLE else h for h in handins]


def check_roster(handins: list[HandIn], roster: Mapping[str, LmsHandIn], assignment: str) -> None:
    """CollectError when a participant of the download is already in this assignment under another student id
    (collected with the other --student-ids, or under an address since changed): formgrader and the grades
    would list that person twice."""
    held = {record.lms_id or student: (student, record) for student, record in roster.items()
            if record.lms == MOODLE}
    problems = []
    for participant, student in sorted({(h.lms_id or h.student, h.student) for h in handins if h.lms == MOODLE}):
        before, record = held.get(participant, (student, None))
        if record and before != student:
            how = EMAIL if record.lms_id else PARTICIPANT
            problems.append(f"Participant {participant} is student {before} in "
                            f"collected/{assignment}/roster.json (collected with --student-ids {how}), and would "
                            f"now be {student}")
    if problems:
        raise CollectError(
            f"one person keeps one student id within an assignment, so nothing was collected:{_listed(problems)}"
            "Collect every download of the assignment with the same --student-ids. If an address changed in "
              "Moodle, set the new one on the earlier student id in the gradebook (nbgrader db student add ID "
              "--email=NEW, with --first-name and --last-name, which it otherwise clears)")
