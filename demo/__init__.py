"""The generated demo corpus and the demo report."""
