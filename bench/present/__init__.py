"""What people read: markdown/LaTeX reports, tables, plots."""
