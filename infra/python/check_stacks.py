"""Every stack after the SAM transform, offline (aws-sam-translator, the library `sam
deploy` and CloudFormation use):
- its resource count stays at most LIMIT, below CloudFormation's 500, so the next features
  still fit;
- every reference (Ref, Fn::GetAtt, the variables of Fn::Sub, Fn::If's condition, a
  resource's Condition) names a parameter, a resource, a condition or a pseudo parameter of
  that stack: a generated name that SAM does not make, or a parameter a stack forgot to
  declare, fails here, not at deploy time;
- the root passes each nested stack every parameter it requires and none it lacks, and
  reads only the outputs each declares;
- every dashboard body is JSON once its `${...}` are resolved, and each metric math
  expression there names only the metrics of its widget.
Prints the counts; exits 1 on any failure.

Usage: python infra/python/check_stacks.py [--limit N] TEMPLATE...
"""

import argparse
import json
import logging
import os
import re
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


def load(path):
    with open(path) as f:
        return yaml.load(f, Loader=CfnLoader)


def transformed(path):
    template = load(path)
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
    return transformed


SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def references(node, local=frozenset()):
    """(kind, name) of every reference in a template fragment: "ref" (a Ref), "attribute"
    (`Name.Attribute`, by Fn::GetAtt or a variable of Fn::Sub), "condition"."""
    if isinstance(node, dict):
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                yield "ref", value
                return
            if key == "Fn::GetAtt":
                yield "attribute", ".".join(value) if isinstance(value, list) else value
                return
            if key == "Fn::Sub":
                text, names = (value, {}) if isinstance(value, str) else value
                for name in SUB_VARIABLE.findall(text):
                    if name.split(".")[0] not in names:
                        yield "attribute", name
                yield from references(names)
                return
            if key == "Fn::If":
                yield "condition", value[0]
                yield from references(value[1:])
                return
        for key, value in node.items():
            if key == "Condition" and isinstance(value, str):
                yield "condition", value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def dangling(template):
    """The references of a transformed template that name nothing it has."""
    known = set(template.get("Parameters", {})) | set(template.get("Resources", {}))
    conditions = set(template.get("Conditions", {}))
    wrong = set()
    for section in ("Resources", "Outputs", "Conditions"):
        for kind, name in references(template.get(section, {})):
            if kind == "attribute":
                kind, name = "ref", name.split(".")[0]
            if kind == "ref" and not (name in known or name.startswith("AWS::")):
                wrong.add(name)
            if kind == "condition" and name not in conditions:
                wrong.add(f"condition {name}")
    return sorted(wrong)


def nesting(path):
    """What the root passes its nested stacks, and reads of their outputs
    (`Stack.Outputs.Name`), against what each declares."""
    wrong = []
    root = os.path.dirname(os.path.abspath(path))
    template = load(path)
    outputs = {}
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Application":
            continue
        props = resource["Properties"]
        nested = load(os.path.join(root, props["Location"]))
        declared = nested.get("Parameters", {})
        outputs[name] = set(nested.get("Outputs", {}))
        passed = set(props.get("Parameters", {}))
        required = {p for p, spec in declared.items() if "Default" not in spec}
        if required - passed:
            wrong.append(f"{name} lacks {sorted(required - passed)}")
        if passed - set(declared):
            wrong.append(f"{name} is passed what it does not declare: {sorted(passed - set(declared))}")
    for kind, reference in references(template):
        stack, _, output = reference.partition(".Outputs.")
        if kind == "attribute" and output and stack in outputs and output not in outputs[stack]:
            wrong.append(f"reads {stack}.Outputs.{output}, which its template does not declare")
    return wrong


MATH_NAME = re.compile(r'"[^"]*"|\b([a-z][A-Za-z0-9_]*)\b')
METRICS_FILTER = re.compile(r'METRICS\("([^"]*)"\)')


def dashboards(path):
    """What is wrong with the dashboard bodies of a template."""
    wrong = []
    for name, resource in load(path).get("Resources", {}).items():
        if resource.get("Type") != "AWS::CloudWatch::Dashboard":
            continue
        body = resource["Properties"]["DashboardBody"]
        text = body["Fn::Sub"] if isinstance(body, dict) else body
        try:
            widgets = json.loads(re.sub(r"\$\{[^}]*\}", "x", text))["widgets"]
        except (ValueError, KeyError) as e:
            wrong.append(f"{name}: the body is not a dashboard's JSON ({e})")
            continue
        for widget in widgets:
            lines = widget.get("properties", {}).get("metrics", [])
            options = [line[-1] for line in lines if line and isinstance(line[-1], dict)]
            ids = {o["id"] for o in options if "id" in o}
            for expression in (o["expression"] for o in options if "expression" in o):
                names = {n for n in MATH_NAME.findall(expression) if n}
                for missing in sorted(names - ids):
                    wrong.append(f"{name}: {expression!r} names {missing}, not a metric of its widget")
                for part in METRICS_FILTER.findall(expression):
                    if not any(part in i for i in ids):
                        wrong.append(f"{name}: {expression!r} selects no metric with {part!r}")
    return wrong


def main():
    # Pseudo parameters (AWS::Region) need a region; nothing is called.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=450)
    parser.add_argument("templates", nargs="+")
    args = parser.parse_args()
    failures = []
    for path in args.templates:
        template = transformed(path)
        n = len(template["Resources"])
        print(f"{path}: {n} resources after the SAM transform (limit {args.limit})")
        if n > args.limit:
            failures.append(f"{path}: past {args.limit} resources")
        failures += [f"{path}: {name} names nothing of the stack" for name in dangling(template)]
        failures += [f"{path}: {line}" for line in nesting(path)]
        failures += [f"{path}: {line}" for line in dashboards(path)]
    if failures:
        sys.exit("\n".join(failures))
    print(
        "every reference resolves; every nested stack gets the parameters it declares and"
        " gives the outputs read of it; every dashboard's metric math names its metrics"
    )


if __name__ == "__main__":
    main()
