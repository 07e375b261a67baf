"""URL converters: a path segment that names an AWS object has the characters of an AWS id,
so anything else (a NUL byte, a slash, ``²``) is a 404 before any query is made."""

from __future__ import annotations

from awsipam.constants import AWS_ID_PATTERN


class AwsIdConverter:
    regex = AWS_ID_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
