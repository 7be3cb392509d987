"""Safe grading of the course's nbgrader submissions: sandboxed student code, a trusted judge."""
