"""This repository's own course and its tools: the topics, badges, release and
self-check, the lessons runner, and `make demo`. Nothing here is needed to
grade another nbgrader course."""
