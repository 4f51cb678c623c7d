"""The instructor's side: the ``a12`` command, nbgrader's plugins, warm workers, jails, the gradebook,
the score sheet export and the Dask engine. Never imported next to student code.
"""
