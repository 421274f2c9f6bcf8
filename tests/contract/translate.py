"""From the names a producer test used to the names one deployed environment uses.

A recorded call names the test's resources (moto's account, the names the test chose). To judge it against an
environment's roles, its parameters are rewritten, in one pass, with pairs (test value -> deployed value) from:

1. the settings the test handed the code, against the function's deployed ``Environment`` (the same variable
   names): whole values, the buckets and key prefixes of S3 URIs, the string leaves of JSON settings;
2. the stand-ins (``stand_ins.py``): what the test world's own resources (the endpoint CloudFormation created,
   the platform key, ...) are in the templates;
3. dev's names -> this environment's names, for the names a test takes from dev's naming without a setting
   (an execution ARN in an event names dev's pipeline): the resources with the same construct path in both
   environments, and the values of the same variable of the same function;
4. moto's account -> the environment's account.

A name is replaced where it stands as a token: not preceded or followed by a letter or digit (so a derived
name such as ``<endpoint>-<digest>-m`` follows its endpoint). Key prefixes are replaced only at the start of a
key in the bucket they belong to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MOTO_ACCOUNT = "123456789012"
MIN_TOKEN = 4  # shorter values ("dev", "1") are too common to stand for a name


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # without the trailing "/"; "" for the whole bucket

    @classmethod
    def parse(cls, uri: str) -> S3Location | None:
        if not uri.startswith("s3://"):
            return None
        bucket, _, prefix = uri[5:].partition("/")
        return cls(bucket, prefix.strip("/"))


@dataclass
class Translation:
    """Test value -> deployed value pairs, applied as tokens in one pass; S3 key prefixes per bucket."""

    pairs: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)  # applied where a bucket stands, only
    prefixes: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (bucket, prefix) -> same
    then: Translation | None = None  # applied after this one (to what this one left as it was)
    _pattern: re.Pattern[str] | None = None

    def add(self, old: Any, new: Any) -> None:
        if not isinstance(old, str) or not isinstance(new, str) or old == new:
            return
        left, right = _json(old), _json(new)
        if left is not None and right is not None:
            for a, b in _leaves(left, right):
                self.add(a, b)
            return
        old_location, new_location = S3Location.parse(old), S3Location.parse(new)
        if old_location and new_location:
            self.add_bucket(old_location.bucket, new_location.bucket)
            self.add_prefix(old_location.bucket, old_location.prefix, new_location.bucket, new_location.prefix)
            return
        if len(old) >= MIN_TOKEN:
            self.pairs.setdefault(old, new)
            self._pattern = None

    def add_bucket(self, old: str, new: str) -> None:
        if old != new:
            self.buckets.setdefault(old, new)

    def add_prefix(self, old_bucket: str, old_prefix: str, new_bucket: str, new_prefix: str) -> None:
        old_prefix, new_prefix = old_prefix.strip("/"), new_prefix.strip("/")
        if old_prefix != new_prefix:
            self.prefixes.setdefault((old_bucket, old_prefix), (new_bucket, new_prefix))

    def update(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        for old, new in pairs:
            self.add(old, new)

    def merged(self, other: Translation) -> Translation:
        """This translation, then ``other``'s pairs where this one has none for the same value."""
        result = Translation(dict(self.pairs), dict(self.buckets), dict(self.prefixes))
        for old, new in other.pairs.items():
            result.pairs.setdefault(old, new)
        for old, new in other.buckets.items():
            result.buckets.setdefault(old, new)
        for old_prefix, new_prefix in other.prefixes.items():
            result.prefixes.setdefault(old_prefix, new_prefix)
        return result

    def text(self, value: str) -> str:
        location = S3Location.parse(value)
        if location is not None:
            key = self.tokens(self.key(location.bucket, location.prefix))
            return (
                f"s3://{self.bucket(location.bucket)}"
                + (f"/{key}" if key else "")
                + ("/" if value.endswith("/") and key else "")
            )
        return self.tokens(value)

    def bucket(self, name: str) -> str:
        if name in self.buckets:
            return self.buckets[name]
        if self.then is not None and name in self.then.buckets:
            return self.then.buckets[name]
        return self.tokens(name)

    def tokens(self, value: str) -> str:
        """``value`` with every token this translation (then ``then``) knows replaced."""
        replaced = self._own_tokens(value)
        return self.then.tokens(replaced) if self.then is not None else replaced

    def _own_tokens(self, value: str) -> str:
        if not self.pairs:
            return value
        if self._pattern is None:
            olds = sorted(self.pairs, key=lambda s: (-len(s), s))
            self._pattern = re.compile(
                r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(o) for o in olds) + r")(?![A-Za-z0-9])"
            )
        return self._pattern.sub(lambda m: self.pairs[m.group(0)], value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """An API call's parameters in the deployed world: S3 keys first (their bucket still the test's)."""
        s3 = {}
        bucket = params.get("Bucket")
        if isinstance(bucket, str):
            s3["Bucket"] = self.bucket(bucket)
            for name in ("Key", "Prefix"):
                if isinstance(params.get(name), str):
                    s3[name] = self.tokens(self.key(bucket, params[name]))
        source = params.get("CopySource")
        if isinstance(source, str):
            source_bucket, _, source_key = source.lstrip("/").partition("/")
            source = {"Bucket": source_bucket, "Key": source_key}
        if isinstance(source, Mapping):
            s3["CopySource"] = {
                **source,
                "Bucket": self.bucket(source["Bucket"]),
                "Key": self.tokens(self.key(source["Bucket"], source["Key"])),
            }
        translated: dict[str, Any] = self.value({k: v for k, v in params.items() if k not in s3})
        return {**translated, **s3}

    def key(self, bucket: str, key: str) -> str:
        """``key`` of ``bucket`` with a test prefix replaced by the deployed one (the bucket stays the test's)."""
        best: tuple[str, str] | None = None
        prefixes = {**(self.then.prefixes if self.then is not None else {}), **self.prefixes}
        for (old_bucket, old_prefix), (_, new_prefix) in prefixes.items():
            under = not old_prefix or key == old_prefix or key.startswith(old_prefix + "/")
            if old_bucket == bucket and under and (best is None or len(old_prefix) > len(best[0])):
                best = (old_prefix, new_prefix)
        if best is None:
            return key
        old_prefix, new_prefix = best
        rest = key[len(old_prefix) :].lstrip("/")
        return "/".join(p for p in (new_prefix, rest) if p) + ("/" if key.endswith("/") and rest else "")


def _json(text: str) -> Any:
    if text[:1] not in ("{", "["):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _leaves(left: Any, right: Any) -> list[tuple[Any, Any]]:
    """The string leaves at the same place in two JSON values (dict keys in both; lists by position)."""
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return [pair for key in left.keys() & right.keys() for pair in _leaves(left[key], right[key])]
    if isinstance(left, list) and isinstance(right, list):
        return [pair for a, b in zip(left, right, strict=False) for pair in _leaves(a, b)]
    if isinstance(left, str) and isinstance(right, str):
        return [(left, right)]
    return []


def pair_settings(tested: Any, deployed: Any, translation: Translation) -> None:
    """Pair a settings object the test built with the one its class reads from a deployed ``Environment``
    (both as JSON): string fields as names; an S3 location (``bucket`` and ``prefix``, or ``<x>_bucket`` and
    ``<x>_prefix``) as a bucket and a key prefix in it."""
    if isinstance(tested, Mapping) and isinstance(deployed, Mapping):
        done: set[str] = set()
        for stem in [""] + [k.removesuffix("_bucket") + "_" for k in tested if k.endswith("_bucket")]:
            bucket, prefix = f"{stem}bucket", f"{stem}prefix"
            if bucket in tested and bucket in deployed and isinstance(tested[bucket], str):
                translation.add_bucket(tested[bucket], str(deployed[bucket]))
                if prefix in tested and prefix in deployed:
                    translation.add_prefix(
                        tested[bucket], str(tested[prefix]), str(deployed[bucket]), str(deployed[prefix])
                    )
                done |= {bucket, prefix}
        for key in sorted((tested.keys() & deployed.keys()) - done):
            pair_settings(tested[key], deployed[key], translation)
    elif isinstance(tested, list) and isinstance(deployed, list):
        for a, b in zip(tested, deployed, strict=False):
            pair_settings(a, b, translation)
    elif isinstance(tested, str) and isinstance(deployed, str):
        translation.add(tested, deployed)


def correspondence(pairs_by_path: Mapping[str, tuple[str, str]], accounts: Sequence[tuple[str, str]]) -> Translation:
    """dev -> another environment, from values that sit at the same construct path in both."""
    translation = Translation()
    for _, (old, new) in sorted(pairs_by_path.items()):
        translation.add(old, new)
    translation.update(accounts)
    return translation
