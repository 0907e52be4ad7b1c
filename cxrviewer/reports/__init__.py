"""Report text: sections and the negation/uncertainty-aware finding labeler. Standard library only."""
