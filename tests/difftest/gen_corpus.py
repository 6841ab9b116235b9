#!/usr/bin/env python3
"""Generates random, mostly valid Go text/template cases for the differential test.

Usage: gen_corpus.py SEED COUNT [OUTPUT]   (OUTPUT defaults to stdout)

Each line is {"name": "gen-SEED-NNNN", "template": ..., "data": ...}, the corpus format that
gotemplate/main.go and template-render read. The same seed always gives the same file.

Templates are built from a grammar of the constructs our engine supports (text, trim markers,
comments, field chains, variables and assignment, pipelines, parentheses, if/else if/else,
range with and without variables and else, break/continue, with/else, define/template/block,
literals, and the builtins plus jsonMarshal), over random JSON data. The generator tracks the
kind of every expression so that comparisons and printf verbs mostly get arguments that Go
accepts; the occasional execution error is still a valid test (both sides must agree on it).
"""

import json
import random
import sys

KEYS = ["a", "b", "c", "name", "id", "Items", "user_id", "_x", "k1", "Zeta", "value"]
ODD_KEYS = ["a-b", "x.y", "with space", "é", ""]
STRINGS = ["", "x", "hello world", "<b>&amp;</b>", "it's \"quoted\"", "héllo", "日本",
           "a+b=c&d/e?f#g", "line\nbreak", "tab\there", "  spaced  ", "😀", "null", "0",
           "true", "\u2028", "back\\slash", "%d%%", "ABC", "b", "a", "Zz"]
NUMBERS = [0, 1, -1, 2.5, 1.5, 42, 1e21, 1e-7, 123456789, 0.000001, -0.0, 3.14159, 1e6,
           100000, 0.1, 1e20, 12345.678, 7, 2, 3]
TEXTS = ["", " ", "\n", "text", " | ", "}", "<p>", "é", "  \n  ", ", ", "\t", "x=", ";\n"]
FLOAT_LITERALS = ["0.0", "1.0", "1.5", "2.5", "42.0", "-1.0", "1e21", "1e-7", "0.1", "3.0"]
INT_LITERALS = ["0", "1", "2", "3", "-1", "10", "0x10", "1_000"]
STRING_LITERALS = ['""', '"x"', '"a"', '"b"', '"hello world"', '"<&>"', '"é"', '`raw\\n`',
                   '"tab\\t"', '"q\\"q"', '"ABC"', '"0"']
COMMENTS = ["/* c */", "/* multi\nline */", "/**/"]


def kind(v):
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "num"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "arr"
    return "map"


# Expression kinds: the data kinds above plus "int" (Go int: literals, len) and "any"
# (unknown, e.g. the result of and/or). UNKNOWN marks an expression whose value is not tracked.
UNKNOWN = object()


class Gen:
    def __init__(self, rng):
        self.r = rng
        self.defines = []  # names of templates defined by the current case
        self.var_counter = 0

    # ---------------------------------------------------------------- data
    def scalar(self):
        c = self.r.random()
        if c < 0.45:
            return self.r.choice(STRINGS)
        if c < 0.85:
            return self.r.choice(NUMBERS)
        if c < 0.95:
            return self.r.choice([True, False])
        return None

    def value(self, depth):
        c = self.r.random()
        if depth <= 0 or c < 0.5:
            return self.scalar()
        if c < 0.75:
            # Arrays are homogeneous in kind so that a range body written for the first element
            # suits them all.
            n = self.r.randint(0, 4)
            if self.r.random() < 0.4 and depth > 1:
                keys = self.r.sample(KEYS, self.r.randint(1, 3))
                return [{k: self.scalar() for k in keys if self.r.random() < 0.9}
                        for _ in range(n)]
            pick = self.r.choice([STRINGS, NUMBERS, [True, False]])
            return [self.r.choice(pick) for _ in range(n)]
        return self.map(depth - 1)

    def map(self, depth):
        m = {}
        for k in self.r.sample(KEYS, self.r.randint(0, 6)):
            m[k] = self.value(depth)
        if self.r.random() < 0.2:
            m[self.r.choice(ODD_KEYS)] = self.scalar()
        return m

    # ---------------------------------------------------------------- expressions
    def path_from(self, base_text, base_value, depth=0):
        """A field chain starting at base (".", "$", "$v"): mostly existing keys, sometimes
        missing ones. Returns (text, value or UNKNOWN)."""
        text, v = base_text, base_value
        while True:
            if v is UNKNOWN or not isinstance(v, dict):
                break
            keys = [k for k in v if k.isidentifier()]
            if keys and self.r.random() < 0.88:
                k = self.r.choice(keys)
                nv = v[k]
            else:
                k = self.r.choice(KEYS)
                nv = v.get(k, None) if isinstance(v, dict) else UNKNOWN
                if k not in v:
                    nv = None
            text = ("." + k) if text in (".",) else text + "." + k
            v = nv
            if not isinstance(v, dict) or self.r.random() < 0.4 or depth > 3:
                break
            depth += 1
        return text, v

    def data_ref(self, scope):
        """A reference to some data value: a field of dot, of $, or a variable (and its
        fields). Returns (text, value)."""
        c = self.r.random()
        dot = scope["dot"]
        if scope["vars"] and c < 0.3:
            name = self.r.choice(sorted(scope["vars"]))
            v = scope["vars"][name]
            if isinstance(v, dict) and self.r.random() < 0.6:
                return self.path_from(name, v)
            return name, v
        if c < 0.4 and scope["root_is_map"]:
            return self.path_from("$", scope["root"])
        if isinstance(dot, dict) and self.r.random() < 0.9:
            return self.path_from(".", dot)
        return ".", dot

    def ref_of_kind(self, scope, kinds, tries=12):
        for _ in range(tries):
            t, v = self.data_ref(scope)
            if v is not UNKNOWN and kind(v) in kinds:
                return t, v
        return None

    def literal(self, k):
        if k == "str":
            return self.r.choice(STRING_LITERALS)
        if k == "num":
            return self.r.choice(FLOAT_LITERALS)
        if k == "int":
            return self.r.choice(INT_LITERALS)
        if k == "bool":
            return self.r.choice(["true", "false"])
        return "nil"

    def operand(self, scope, k, depth):
        """An argument of kind k: a literal, a data reference, or a parenthesised call."""
        c = self.r.random()
        if k in ("str", "num", "bool") and c < 0.55:
            ref = self.ref_of_kind(scope, [k])
            if ref:
                return ref[0]
        if depth < 2 and c > 0.85:
            t, tk = self.call(scope, depth + 1, want=k)
            if tk == k:
                return "(" + t + ")"
        return self.literal(k)

    def any_operand(self, scope, depth):
        c = self.r.random()
        if c < 0.6:
            return self.data_ref(scope)[0]
        if c < 0.8 or depth >= 2:
            return self.literal(self.r.choice(["str", "num", "int", "bool"]))
        return "(" + self.call(scope, depth + 1)[0] + ")"

    def printf(self, scope, depth):
        verbs = {
            "str": ["%s", "%q", "%v", "%x", "%10s", "%-8s|", "%.2s"],
            "num": ["%v", "%f", "%.2f", "%e", "%g", "%8.3f", "%d", "%s", "%.0f", "%G"],
            "int": ["%d", "%5d", "%05d", "%x", "%v", "%-4d|", "%o", "%c", "%q"],
            "bool": ["%t", "%v", "%s", "%5t"],
            "any": ["%v", "%s", "%T", "%+v"],
        }
        fmt_parts, args = [], []
        for _ in range(self.r.randint(1, 3)):
            k = self.r.choice(list(verbs))
            fmt_parts.append(self.r.choice(verbs[k]))
            if k == "any":
                args.append(self.any_operand(scope, depth))
            else:
                args.append(self.operand(scope, k, depth))
        sep = self.r.choice([" ", "-", "|", ""])
        fmt = json.dumps(sep.join(fmt_parts), ensure_ascii=False)
        return "printf " + fmt + "".join(" " + a for a in args)

    def call(self, scope, depth, want=None):
        """A function call (without parentheses). Returns (text, kind)."""
        choices = {
            "str": ["printf", "print", "html", "js", "urlquery", "jsonMarshal", "slice", "index"],
            "int": ["len"],
            "bool": ["eq", "ne", "lt", "le", "gt", "ge", "not", "eqmulti"],
            "any": ["and", "or", "index"],
        }
        if want is None or want not in choices:
            want = self.r.choice(list(choices))
        fn = self.r.choice(choices[want])
        if fn == "printf":
            return self.printf(scope, depth), "str"
        if fn in ("print", "html", "js", "urlquery"):
            n = self.r.randint(1, 3) if fn == "print" else self.r.randint(1, 2)
            return fn + "".join(" " + self.any_operand(scope, depth) for _ in range(n)), "str"
        if fn == "jsonMarshal":
            return "jsonMarshal " + self.any_operand(scope, depth), "str"
        if fn == "slice":
            # Sprig's slice (it shadows the builtin in Tyk): lists only.
            ref = self.ref_of_kind(scope, ["arr"])
            if ref is None:
                return "print " + self.any_operand(scope, depth), "str"
            t, v = ref
            i = self.r.randint(0, len(v))
            j = self.r.randint(i, len(v))
            args = self.r.choice([[], [i], [i, j]])
            return "slice " + t + "".join(" %d" % a for a in args), "arr"
        if fn == "index":
            ref = self.ref_of_kind(scope, ["arr", "map"])
            if ref is None:
                return "index " + self.data_ref(scope)[0], "any"
            t, v = ref
            if isinstance(v, list):
                i = self.r.randint(0, len(v)) if self.r.random() < 0.1 else (
                    self.r.randrange(len(v)) if v else 0)
                if v and i < len(v) and isinstance(v[i], dict) and v[i] and self.r.random() < 0.5:
                    return "index %s %d %s" % (t, i, json.dumps(self.r.choice(sorted(v[i])))), "any"
                return "index %s %d" % (t, i), "any"
            keys = sorted(v) + [self.r.choice(KEYS + ODD_KEYS)]
            return "index %s %s" % (t, json.dumps(self.r.choice(keys), ensure_ascii=False)), "any"
        if fn == "len":
            ref = self.ref_of_kind(scope, ["str", "arr", "map"])
            if ref is None:
                return "len " + self.r.choice(STRING_LITERALS), "int"
            return "len " + ref[0], "int"
        if fn in ("eq", "ne", "lt", "le", "gt", "ge"):
            kinds = ["str", "num", "int"] + (["bool"] if fn in ("eq", "ne") else [])
            k = self.r.choice(kinds)
            return "%s %s %s" % (fn, self.operand(scope, k, depth),
                                 self.operand(scope, k, depth)), "bool"
        if fn == "eqmulti":
            k = self.r.choice(["str", "num"])
            args = [self.operand(scope, k, depth) for _ in range(self.r.randint(3, 4))]
            return "eq " + " ".join(args), "bool"
        if fn == "not":
            return "not " + self.any_operand(scope, depth), "bool"
        # and / or
        n = self.r.randint(1, 3)
        return fn + "".join(" " + self.any_operand(scope, depth) for _ in range(n)), "any"

    def pipeline(self, scope):
        """The pipeline of an output action: a reference, literal or call, maybe piped on."""
        c = self.r.random()
        if c < 0.35:
            text = self.data_ref(scope)[0]
        elif c < 0.45:
            text = self.literal(self.r.choice(["str", "num", "int", "bool"]))
        else:
            text = self.call(scope, 0)[0]
        if self.r.random() < 0.25:
            stage = self.r.choice(['printf "%v"', 'printf "<%s>"', "print", "html", "js",
                                   "urlquery", "jsonMarshal", 'printf "%s|%v" "p"'])
            text += " | " + stage
            if self.r.random() < 0.3:
                text += " | " + self.r.choice(["len", "print", "html"])
        return text

    def condition(self, scope):
        c = self.r.random()
        if c < 0.4:
            return self.data_ref(scope)[0]
        if c < 0.9:
            return self.call(scope, 0, want=self.r.choice(["bool", "bool", "any"]))[0]
        return self.literal(self.r.choice(["str", "num", "int", "bool"]))

    # ---------------------------------------------------------------- template text
    def action(self, body):
        left = "{{- " if self.r.random() < 0.15 else "{{"
        right = " -}}" if self.r.random() < 0.15 else "}}"
        return left + body + right

    def new_var(self):
        self.var_counter += 1
        return "$v%d" % self.var_counter

    def block(self, scope, depth, n_items):
        out = []
        for _ in range(n_items):
            out.append(self.item(scope, depth))
        return "".join(out)

    def child_scope(self, scope, dot=None, keep_dot=True):
        s = dict(scope)
        s["vars"] = dict(scope["vars"])
        if not keep_dot:
            s["dot"] = dot
        return s

    def item(self, scope, depth):
        c = self.r.random()
        if depth >= 3:
            c = c * 0.55  # only text, output and variables deep down
        if c < 0.18:
            return self.r.choice(TEXTS)
        if c < 0.42:
            return self.action(self.pipeline(scope))
        if c < 0.50:
            name = self.new_var()
            ref = self.data_ref(scope)
            if self.r.random() < 0.6:
                scope["vars"][name] = ref[1]
                return self.action("%s := %s" % (name, ref[0]))
            pipe = self.pipeline(scope)
            scope["vars"][name] = UNKNOWN
            return self.action("%s := %s" % (name, pipe))
        if c < 0.53:
            if scope["vars"]:
                name = self.r.choice(sorted(scope["vars"]))
                ref = self.data_ref(scope)
                scope["vars"][name] = ref[1]
                return self.action("%s = %s" % (name, ref[0]))
            return self.action("/* no vars */")
        if c < 0.55:
            return self.action(self.r.choice(COMMENTS))
        if c < 0.68:
            return self.if_stmt(scope, depth)
        if c < 0.84:
            return self.range_stmt(scope, depth)
        if c < 0.92:
            return self.with_stmt(scope, depth)
        if self.defines:
            arg = self.any_operand(scope, 1) if self.r.random() < 0.8 else ""
            return self.action('template "%s"%s' % (self.r.choice(self.defines),
                                                     " " + arg if arg else ""))
        return self.action(self.pipeline(scope))

    def if_stmt(self, scope, depth):
        out = [self.action("if " + self.condition(scope))]
        out.append(self.block(self.child_scope(scope), depth + 1, self.r.randint(1, 3)))
        for _ in range(self.r.choice([0, 0, 1, 2])):
            out.append(self.action("else if " + self.condition(scope)))
            out.append(self.block(self.child_scope(scope), depth + 1, self.r.randint(1, 2)))
        if self.r.random() < 0.5:
            out.append(self.action("else"))
            out.append(self.block(self.child_scope(scope), depth + 1, self.r.randint(1, 2)))
        out.append(self.action("end"))
        return "".join(out)

    def range_stmt(self, scope, depth):
        ref = self.ref_of_kind(scope, ["arr", "map"])
        if ref is None:
            if self.r.random() < 0.7:
                return self.if_stmt(scope, depth)
            ref = self.data_ref(scope)  # may be nil/missing (else branch) or a scalar (error)
        t, v = ref
        if isinstance(v, list):
            elem, key = (v[0] if v else None), 0
        elif isinstance(v, dict):
            elem, key = (v[sorted(v)[0]] if v else None), ""
        else:
            elem, key = None, None
        body_scope = self.child_scope(scope, dot=elem, keep_dot=False)
        c = self.r.random()
        if c < 0.4:
            head = "range " + t
        elif c < 0.6:
            e = self.new_var()
            body_scope["vars"][e] = elem
            head = "range %s := %s" % (e, t)
        else:
            i, e = self.new_var(), self.new_var()
            body_scope["vars"][i] = key
            body_scope["vars"][e] = elem
            head = "range %s, %s := %s" % (i, e, t)
        body = []
        for _ in range(self.r.randint(1, 3)):
            if self.r.random() < 0.15:
                body.append(self.action("if " + self.condition(body_scope)) +
                            self.r.choice(["", "x"]) +
                            self.action(self.r.choice(["break", "continue"])) + self.action("end"))
            body.append(self.item(body_scope, depth + 1))
        out = [self.action(head), "".join(body)]
        if self.r.random() < 0.3:
            out.append(self.action("else"))
            out.append(self.block(self.child_scope(scope), depth + 1, 1))
        out.append(self.action("end"))
        return "".join(out)

    def with_stmt(self, scope, depth):
        t, v = self.data_ref(scope)
        inner = self.child_scope(scope, dot=v, keep_dot=False)
        if self.r.random() < 0.3:
            name = self.new_var()
            inner["vars"][name] = v
            head = "with %s := %s" % (name, t)
        else:
            head = "with " + t
        out = [self.action(head), self.block(inner, depth + 1, self.r.randint(1, 3))]
        if self.r.random() < 0.4:
            out.append(self.action("else"))
            out.append(self.block(self.child_scope(scope), depth + 1, 1))
        out.append(self.action("end"))
        return "".join(out)

    def define_body(self):
        """A body for {{define}}: dot is whatever the caller passes, so only kind-agnostic uses."""
        parts = []
        for _ in range(self.r.randint(1, 3)):
            parts.append(self.r.choice([
                "{{.}}", '{{printf "%v" .}}', "{{jsonMarshal .}}", "{{if .}}T{{else}}F{{end}}",
                "{{html .}}", "<", ">", " ", "{{with .}}w{{end}}", "{{print . 1}}",
                "{{$}}", "{{not .}}"]))
        return "".join(parts)

    # ---------------------------------------------------------------- a case
    def case(self, name):
        self.defines = []
        self.var_counter = 0
        c = self.r.random()
        if c < 0.85:
            data = self.map(3)
        elif c < 0.95:
            data = self.value(3)
        else:
            data = self.scalar()
        scope = {"dot": data, "root": data, "root_is_map": isinstance(data, dict), "vars": {}}
        head = []
        for i in range(self.r.choice([0, 0, 0, 1, 2])):
            dname = "T%d" % i
            self.defines.append(dname)
            head.append('{{define "%s"}}%s{{end}}' % (dname, self.define_body()))
        body = self.block(scope, 0, self.r.randint(1, 6))
        if self.r.random() < 0.1:
            body += '{{block "B" %s}}%s{{end}}' % (self.any_operand(scope, 1), self.define_body())
        parts = head + [body]
        if head and self.r.random() < 0.5:
            parts = [body] + head  # definitions may come after their use
        return {"name": name, "template": "".join(parts), "data": data}


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        sys.exit(2)
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    gen = Gen(random.Random(seed))
    lines = [json.dumps(gen.case("gen-%d-%04d" % (seed, i)), ensure_ascii=False)
             for i in range(count)]
    text = "\n".join(lines) + "\n"
    if len(sys.argv) == 4:
        with open(sys.argv[3], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
