"""Tests of the paved template, its gates and its tooling."""
