"""Every stack's resource count after the SAM transform, offline (aws-sam-translator, the
library `sam deploy` and CloudFormation use): each must stay at most LIMIT, below
CloudFormation's 500, so the next features still fit. Prints the counts; fails past the limit.

Usage: python infra/python/stack_sizes.py [--limit N] TEMPLATE...
"""

import argparse
import logging
import os
import sys

import yaml
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as their long forms."""


def _intrinsic(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


class ManagedPolicies:
    """The managed policies SAM attaches by name (the basic execution role, X-Ray), as ARNs
    without asking IAM."""

    def load(self):
        return {}

    def __getattr__(self, name):
        return lambda *a, **k: {}


def count(path):
    with open(path) as f:
        template = yaml.load(f, Loader=CfnLoader)
    # What `sam package` does first: local code and nested templates become S3 objects.
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            props["CodeUri"] = "s3://packaged/" + props["CodeUri"].strip("./")
        if resource.get("Type") == "AWS::Serverless::Application":
            props["Location"] = "https://packaged.s3.amazonaws.com/" + props["Location"]
    parameters = {name: "x" for name in template.get("Parameters", {})}
    try:
        transformed = transform(template, parameters, ManagedPolicies())
    except InvalidDocumentException as e:
        sys.exit(f"{path}: the SAM transform fails: " + "; ".join(str(c) for c in e.causes))
    return len(transformed["Resources"])


def main():
    # Pseudo parameters (AWS::Region) need a region; nothing is called.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=450)
    parser.add_argument("templates", nargs="+")
    args = parser.parse_args()
    over = []
    for path in args.templates:
        n = count(path)
        print(f"{path}: {n} resources after the SAM transform (limit {args.limit})")
        if n > args.limit:
            over.append(path)
    if over:
        sys.exit(f"past {args.limit} resources: {', '.join(over)}")


if __name__ == "__main__":
    main()
