"""Run reports: HTML pages with PNG maps and plots (matplotlib, Agg backend)."""
