"""The grading engine: one saved notebook in, a report out (``python -m autograder.grading.grade``).

Everything here may run next to student code: the sandbox's child processes import it before they
run the student's functions. It never imports ``autograder.course``, and its checks load the
reference answers only inside ``prepare`` and ``judge``, in the parent (``tests/test_layering.py``).
"""
