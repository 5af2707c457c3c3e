"""Tests of the catalog and order understanding."""
