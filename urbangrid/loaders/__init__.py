"""Readers for OSM and survey files, validation and change sets."""
