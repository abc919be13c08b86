"""Fill-sequence analysis: pure numpy / scikit-image functions, no Qt."""
