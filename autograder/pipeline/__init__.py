"""The grading pipeline, one stage a module, data flowing one way:

    read (autograder.handin) -> repair -> sanitize + scan -> execute -> score -> record

- repair/     gives back what Colab, Kaggle or the student took away, against the release
- sanitize.py nbgrader's own preprocessors put the instructor's cells back; scan.py reads student code
- execute.py  runs the notebook in a kernel from a KernelSource (autograder.sandbox), guard.py inside it
- score.py    nbgrader's output filters and grading rule
- record.py   the one writer: autograded/ files and the gradebook, a transaction per student
- runners.py  where execute runs: here, or on a Dask cluster
- grade.py    `autograder grade`: the stages in order for each notebook, many at once, one writer

No stage imports a later one; what they pass along is autograder.outcome's.
"""
