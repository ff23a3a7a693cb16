"""What the grader hands back to people once grades are recorded: the CSV export and the
files Canvas and Moodle import, the feedback pages and their LMS zip, the HTML report.
They read the gradebook, autograder.json and roster.json; they never grade."""
