"""History import and rating export."""
