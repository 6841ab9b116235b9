// Command gotemplate renders every case of a differential-test corpus with Go's own
// text/template, the ground truth for Portcullis' C++ port (tests/difftest/run_difftest.sh).
//
// Input: JSON lines {"name": "...", "template": "...", "data": <json>} (file argument or stdin).
// Output: one JSON line per case, in input order:
//
//	{"name": ..., "ok": true, "output": "...", "output_b64": "..."}
//	{"name": ..., "ok": false, "stage": "parse"|"exec", "error": "...",
//	 "partial": "...", "partial_b64": "..."}   (partial only for exec errors)
//
// The *_b64 fields carry the exact bytes (the plain fields are readable JSON strings, in which
// invalid UTF-8 would be replaced). Data is decoded as Tyk decodes request bodies: encoding/json
// into interface{}, so every number is a float64. The functions are the builtins plus Tyk's
// jsonMarshal; Sprig is tested separately, except for Sprig's `slice`, which shadows the builtin
// `slice` in Tyk's function map and is therefore ported below (stdlib only).
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"text/template"
)

type testCase struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
}

type result struct {
	Name       string  `json:"name"`
	OK         bool    `json:"ok"`
	Stage      string  `json:"stage,omitempty"`
	Error      string  `json:"error,omitempty"`
	Output     *string `json:"output,omitempty"`
	OutputB64  *string `json:"output_b64,omitempty"`
	Partial    *string `json:"partial,omitempty"`
	PartialB64 *string `json:"partial_b64,omitempty"`
}

// Tyk's jsonMarshal (apidef/api_definitions.go).
var funcs = template.FuncMap{
	"jsonMarshal": func(v interface{}) (string, error) {
		bs, err := json.Marshal(v)
		return string(bs), err
	},
	"slice": sprigSlice,
}

// sprigSlice is Sprig v3's `slice` (list.go: slice/mustSlice): lists only, at most two indices
// used, an empty list gives nil, out-of-range indices panic in reflect (text/template turns the
// panic into "error calling slice: ...").
func sprigSlice(list interface{}, indices ...interface{}) interface{} {
	tp := reflect.TypeOf(list).Kind()
	switch tp {
	case reflect.Slice, reflect.Array:
		l2 := reflect.ValueOf(list)
		l := l2.Len()
		if l == 0 {
			return nil
		}
		var start, end int
		if len(indices) > 0 {
			start = castToInt(indices[0])
		}
		if len(indices) < 2 {
			end = l
		} else {
			end = castToInt(indices[1])
		}
		return l2.Slice(start, end).Interface()
	default:
		panic(fmt.Errorf("list should be type of slice or array but %s", tp))
	}
}

// castToInt is spf13/cast.ToInt (Sprig's toInt) for the values a template can pass: JSON
// values and template literals; anything else is 0.
func castToInt(v interface{}) int {
	switch s := v.(type) {
	case int:
		return s
	case int64:
		return int(s)
	case float64:
		return int(s)
	case bool:
		if s {
			return 1
		}
		return 0
	case string:
		// cast v1.3.1 (the version Tyk builds Sprig v3.2.2 with): no ".00" trimming.
		if n, err := strconv.ParseInt(s, 0, 0); err == nil {
			return int(n)
		}
		return 0
	default:
		return 0
	}
}

func render(c testCase) (r result) {
	r.Name = c.Name
	defer func() {
		// A panic that escapes Execute (Go would crash the request) is reported, not fatal.
		if p := recover(); p != nil {
			r = result{Name: c.Name, Stage: "panic", Error: fmt.Sprint(p)}
		}
	}()
	var data interface{}
	if len(c.Data) > 0 {
		if err := json.Unmarshal(c.Data, &data); err != nil {
			r.Stage = "data"
			r.Error = err.Error()
			return r
		}
	}
	t, err := template.New(c.Name).Funcs(funcs).Parse(c.Template)
	if err != nil {
		r.Stage = "parse"
		r.Error = err.Error()
		return r
	}
	var buf bytes.Buffer
	err = t.Execute(&buf, data)
	text := buf.String()
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	if err != nil {
		r.Stage = "exec"
		r.Error = err.Error()
		r.Partial = &text
		r.PartialB64 = &enc
		return r
	}
	r.OK = true
	r.Output = &text
	r.OutputB64 = &enc
	return r
}

func main() {
	var in io.Reader = os.Stdin
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "gotemplate:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	reader := bufio.NewReader(in)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for lineNo := 1; ; lineNo++ {
		line, err := reader.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var c testCase
			if jerr := json.Unmarshal(line, &c); jerr != nil {
				fmt.Fprintf(os.Stderr, "gotemplate: corpus line %d: %v\n", lineNo, jerr)
				out.Flush()
				os.Exit(2)
			}
			if encErr := enc.Encode(render(c)); encErr != nil {
				fmt.Fprintln(os.Stderr, "gotemplate:", encErr)
				os.Exit(2)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gotemplate:", err)
			os.Exit(2)
		}
	}
}
