"""Batch tests: a variant matrix × test cases × repetitions, scored and compared."""
