"""The staff console at /console/: counter (clerk), review (reviewer) and agency (officer) pages."""
