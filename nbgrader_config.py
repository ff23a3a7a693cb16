"""nbgrader settings of the course. The repository root is the course directory."""

c = get_config()  # noqa: F821 - nbgrader provides get_config

c.CourseDirectory.course_id = "autograd"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A cell that runs longer than this is stopped and scores 0; the course's
# solutions take seconds on a 2-core CPU.
c.Execute.timeout = 120

# nbgrader scores a test cell 0 when it wrote anything to stderr. In this course
# only an error costs points: a test that raised (an "error" output, which this
# setting never touches) or stderr text holding a traceback or an "...Error:" /
# "...Exception" line. Anything else on stderr costs nothing and is dropped from
# the graded notebook: PyTorch's and matplotlib's warnings (reading `.grad` of a
# non-leaf, `float()` of a tensor that requires grad, a library's deprecation),
# and a student's own debugging line (`print(x.grad, file=sys.stderr)`), which a
# correct answer may well leave in. `autograder grade` reads this same setting.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"\A(?:(?!Traceback \(most recent call last\)|[\w.]*(?:Error|Exception)\b)[^\n]*(?:\n|\Z))+\Z"
)

# `nbgrader autograde` and formgrader's Autograde button, in a course graded by
# `autograder grade` (autograder/nbgrader_hooks.py): student code runs only in
# the autograder's sandbox (nbgrader's own Execute would run it with your
# rights), what that run flags reaches formgrader, the graded notebook is made
# inert and kept under 10 MiB, and a submission `autograder grade` graded is
# never autograded over (its repairs, flags and autograder.json would be lost).
# Named as strings: nbgrader imports them only when it autogrades.
c.Autograde.exporter_class = "autograder.nbgrader_hooks.GuardedExporter"
c.Autograde.autograde_preprocessors = [
    "autograder.nbgrader_hooks.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "autograder.nbgrader_hooks.SaveFlags",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    "autograder.nbgrader_hooks.Present",
]

# Feedback as students should read it (autograder/feedback_view.py), from formgrader's
# "Generate feedback" button, `nbgrader generate_feedback` and `autograder feedback`
# alike: answers, scores and each failing check's message; not the hidden tests'
# source, not why the grader flagged work for a person (one neutral sentence instead).
# `autograder feedback --show-hidden-tests --show-flags` shows instructors more.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback_view.StudentView",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# The grader's record beside each graded notebook (autograder.json) is the instructor's:
# nbgrader copies no file of that name, so it stays out of feedback/; and a hand-in's own
# autograder.json stays out of autograded/ and of its kernel, where it would pass for the
# grader's.
c.CourseDirectory.ignore.append("autograder.json")
