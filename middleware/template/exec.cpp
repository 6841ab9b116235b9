// Execution of a parsed template: a port of Go 1.19's text/template/exec.go over the Value
// model. Errors unwind as ExecError (caught in Template::execute); break and continue are
// returned as a Flow.
#include "middleware/template/functions.hpp"
#include "middleware/template/gofmt.hpp"
#include "middleware/template/message_parts.hpp"
#include "middleware/template/node.hpp"
#include "middleware/template/parser.hpp"
#include "middleware/template/template.hpp"
#include "middleware/template/text.hpp"

#include <exception>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace portcullis::tmpl {

namespace detail {

namespace {

/// Deepest recursion of walk/pipeline evaluation across {{template}} calls: enough for any
/// template the parser accepts (each nested if/range/with takes two levels), small enough for
/// the stack of a worker thread even under AddressSanitizer.
constexpr int kMaxExecNesting = 2 * kMaxParseDepth + 100;

/// What functions may build in one execution, as a multiple of max_output_bytes (strings) and
/// max_range_iterations (list and map elements).
constexpr std::uint64_t kBuildBudget = 8;

struct ExecError {
    std::string message;
};

enum class Flow { normal, break_, continue_ };

struct Var {
    std::string_view name;
    Value value;
};

std::string quote(std::string_view s) {
    std::string out;
    append_quote(out, s);
    return out;
}

bool assignable(const Value& v, ParamType t) {
    if (v.boxed()) {
        return false;
    }
    switch (t) {
    case ParamType::string_:
        return v.kind() == Kind::string;
    case ParamType::int_:
        return v.kind() == Kind::int_;
    case ParamType::int64_:
        return v.kind() == Kind::int64;
    case ParamType::float64_:
        return v.kind() == Kind::float64;
    case ParamType::bool_:
        return v.kind() == Kind::boolean;
    case ParamType::map_any:
        return v.kind() == Kind::map && v.elem() == Elem::any;
    case ParamType::list_any:
        return v.kind() == Kind::list && v.elem() == Elem::any;
    case ParamType::time_:
        return v.kind() == Kind::time;
    default:
        return true;
    }
}

// A value as fmt's %v prints it: a part of error messages (see Exec::failf).
struct Printed {
    const Value* value;
};
using detail::append_part; // the shared parts (message_parts.hpp)
void append_part(std::string& out, const Printed& p) {
    fmt_sprint(out, p.value, 1);
}

class Exec {
  public:
    Exec(const Program& prog, std::string& out, const Limits& limits)
        : prog_(prog), out_(out), limits_(limits),
          base_(out.size()), ctx_{limits.max_output_bytes, limits.max_range_iterations} {}

    std::string run(const nlohmann::json& data) {
        const Value dot = Value::from_json(data, false);
        vars_.push_back(Var{"$", dot});
        auto it = prog_.trees.find(prog_.name);
        tree_ = it != prog_.trees.end() ? it->second.get() : nullptr;
        name_ = prog_.name;
        try {
            if (tree_ == nullptr || !tree_->root) {
                failf(Quoted{prog_.name}, " is an incomplete or empty template");
            }
            walk(dot, tree_->root.get());
        } catch (const ExecError& e) {
            return e.message;
        } catch (const std::bad_alloc&) {
            return "template: " + prog_.name + ": out of memory";
        } catch (const std::exception& e) {
            return "template: " + prog_.name + ": internal error: " + e.what();
        }
        return {};
    }

  private:
    using Args = std::span<const NodePtr>;

    // --- state --------------------------------------------------------------------------

    void at(const Node* n) { node_ = n; }

    [[noreturn]] void errorf(const std::string& message) {
        if (node_ == nullptr) {
            throw ExecError{"template: " + std::string(name_) + ": " + message};
        }
        const std::size_t pos = node_->pos;
        const std::string_view before = std::string_view(prog_.text).substr(0, pos);
        const std::size_t nl = before.rfind('\n');
        const std::size_t col = nl == std::string_view::npos ? pos : pos - (nl + 1);
        std::size_t line = 1;
        for (char c : before) {
            line += c == '\n' ? 1 : 0;
        }
        throw ExecError{"template: " + prog_.name + ":" + std::to_string(line) + ":" +
                        std::to_string(col) + ": executing " + quote(name_) + " at <" +
                        node_->to_string() + ">: " + message};
    }

    // Builds an error message from parts in a frame of its own, so the recursive evaluation
    // functions keep small stack frames (hostile templates nest deeply).
    template <class... Parts>
    [[noreturn]] [[gnu::noinline]] [[gnu::cold]] void failf(const Parts&... parts) {
        std::string message;
        (append_part(message, parts), ...);
        errorf(message);
    }

    void push(std::string_view name, const Value& v) { vars_.push_back(Var{name, v}); }

    void set_var(std::string_view name, const Value& v) {
        for (std::size_t i = vars_.size(); i-- > 0;) {
            if (vars_[i].name == name) {
                vars_[i].value = v;
                return;
            }
        }
        failf("undefined variable: ", name);
    }

    void set_top_var(std::size_t n, const Value& v) {
        if (vars_.size() >= n) {
            vars_[vars_.size() - n].value = v;
        }
    }

    Value var_value(std::string_view name) {
        for (std::size_t i = vars_.size(); i-- > 0;) {
            if (vars_[i].name == name) {
                return vars_[i].value;
            }
        }
        failf("undefined variable: ", name);
    }

    struct Nest {
        explicit Nest(Exec& e) : exec(e) {
            if (++exec.nesting_ > kMaxExecNesting) {
                exec.failf("exceeded maximum nesting depth (", kMaxExecNesting, ")");
            }
        }
        ~Nest() { --exec.nesting_; }
        Nest(const Nest&) = delete;
        Nest& operator=(const Nest&) = delete;
        Exec& exec;
    };

    [[gnu::noinline]] void check_output() {
        const std::size_t written = out_.size() - base_;
        if (written > limits_.max_output_bytes) {
            out_.resize(base_ + limits_.max_output_bytes);
            failf("output exceeds the limit of ", limits_.max_output_bytes, " bytes");
        }
    }

    // --- walk ---------------------------------------------------------------------------

    Flow walk(const Value& dot, const Node* node) {
        Nest nest(*this);
        at(node);
        switch (node->type) {
        case NodeType::action: {
            const auto* a = static_cast<const ActionNode*>(node);
            const Value val = eval_pipeline(dot, a->pipe.get());
            if (a->pipe->decl.empty()) {
                print_value(node, val);
            }
            return Flow::normal;
        }
        case NodeType::break_:
            return Flow::break_;
        case NodeType::continue_:
            return Flow::continue_;
        case NodeType::if_:
        case NodeType::with:
            return walk_if_or_with(dot, static_cast<const BranchNode*>(node));
        case NodeType::list:
            for (const auto& n : static_cast<const ListNode*>(node)->nodes) {
                const Flow f = walk(dot, n.get());
                if (f != Flow::normal) {
                    return f;
                }
            }
            return Flow::normal;
        case NodeType::range:
            return walk_range(dot, static_cast<const BranchNode*>(node));
        case NodeType::template_:
            walk_template(dot, static_cast<const TemplateNode*>(node));
            return Flow::normal;
        case NodeType::text:
            out_ += static_cast<const TextNode*>(node)->text;
            check_output();
            return Flow::normal;
        default:
            failf("unknown node: ", node);
        }
    }

    [[gnu::noinline]] Flow walk_if_or_with(const Value& dot, const BranchNode* b) {
        const std::size_t mark = vars_.size();
        const Value val = eval_pipeline(dot, b->pipe.get());
        Flow f = Flow::normal;
        if (truth(val.unboxed())) {
            f = walk(b->type == NodeType::with ? val : dot, b->list.get());
        } else if (b->else_list) {
            f = walk(dot, b->else_list.get());
        }
        vars_.resize(mark);
        return f;
    }

    [[gnu::noinline]] Flow walk_range(const Value& dot, const BranchNode* r) {
        at(r);
        const std::size_t mark0 = vars_.size();
        const Value val = eval_pipeline(dot, r->pipe.get()).unboxed();
        const std::size_t mark = vars_.size();
        const std::size_t ndecl = r->pipe->decl.size();
        auto one_iteration = [&](const Value& index, const Value& elem) {
            if (++iterations_ > limits_.max_range_iterations) {
                at(r);
                failf("exceeded maximum range iterations (", limits_.max_range_iterations, ")");
            }
            if (ndecl > 0) {
                set_top_var(1, elem);
            }
            if (ndecl > 1) {
                set_top_var(2, index);
            }
            const Flow f = walk(elem, r->list.get());
            vars_.resize(mark);
            return f;
        };
        bool iterated = false;
        switch (val.kind()) {
        case Kind::list: {
            const std::size_t n = val.size();
            if (n == 0) {
                break;
            }
            iterated = true;
            for (std::size_t i = 0; i < n; ++i) {
                if (one_iteration(Value::integer(static_cast<std::int64_t>(i)), val.at(i)) ==
                    Flow::break_) {
                    break;
                }
            }
            break;
        }
        case Kind::map: {
            if (val.size() == 0) {
                break;
            }
            iterated = true;
            if (const nlohmann::json* j = val.json()) {
                for (auto it = j->begin(); it != j->end(); ++it) {
                    if (one_iteration(Value::borrowed_string(it.key()),
                                      Value::from_json(it.value(), true)) == Flow::break_) {
                        break;
                    }
                }
            } else if (const MapData* m = val.owned_map()) {
                const bool box = val.elem() == Elem::any;
                for (const auto& [key, item] : m->items) {
                    if (one_iteration(Value::borrowed_string(key), item.with_boxed(box)) ==
                        Flow::break_) {
                        break;
                    }
                }
            }
            break;
        }
        case Kind::invalid:
            break;
        default:
            failf("range can't iterate over ", Printed{&val});
        }
        Flow f = Flow::normal;
        if (!iterated && r->else_list) {
            f = walk(dot, r->else_list.get());
            if (f == Flow::break_) {
                f = Flow::normal;
            }
        }
        vars_.resize(mark0);
        return f;
    }

    [[gnu::noinline]] void walk_template(const Value& dot, const TemplateNode* t) {
        at(t);
        auto it = prog_.trees.find(t->name);
        if (it == prog_.trees.end()) {
            failf("template ", Quoted{t->name}, " not defined");
        }
        if (depth_ >= limits_.max_template_depth) {
            failf("exceeded maximum template depth (", limits_.max_template_depth, ")");
        }
        const Value new_dot = eval_pipeline(dot, t->pipe.get());
        const Tree* saved_tree = tree_;
        const std::string_view saved_name = name_;
        std::vector<Var> saved_vars;
        saved_vars.swap(vars_);
        vars_.push_back(Var{"$", new_dot});
        tree_ = it->second.get();
        name_ = it->second->name;
        ++depth_;
        walk(new_dot, tree_->root.get());
        --depth_;
        tree_ = saved_tree;
        name_ = saved_name;
        vars_.swap(saved_vars);
    }

    // --- evaluation ---------------------------------------------------------------------

    Value eval_pipeline(const Value& dot, const PipeNode* pipe) {
        if (pipe == nullptr) {
            return Value();
        }
        Nest nest(*this);
        at(pipe);
        Value value;
        bool has_final = false;
        for (const auto& cmd : pipe->cmds) {
            Value next = eval_command(dot, cmd.get(), has_final ? &value : nullptr);
            value = next.unboxed();
            has_final = true;
        }
        for (const auto& var : pipe->decl) {
            if (pipe->is_assign) {
                set_var(var->ident[0], value);
            } else {
                push(var->ident[0], value);
            }
        }
        return value;
    }

    void not_a_function(Args args, const Value* final) {
        if (args.size() > 1 || final != nullptr) {
            failf("can't give argument to non-function ", args[0].get());
        }
    }

    [[gnu::noinline]] Value
    eval_command(const Value& dot, const CommandNode* cmd, const Value* final) {
        const Node* first = cmd->args[0].get();
        const Args args(cmd->args);
        switch (first->type) {
        case NodeType::field:
            return eval_field_node(dot, static_cast<const FieldNode*>(first), args, final);
        case NodeType::chain:
            return eval_chain_node(dot, static_cast<const ChainNode*>(first), args, final);
        case NodeType::identifier:
            return eval_function(dot, static_cast<const IdentifierNode*>(first), cmd, args, final);
        case NodeType::pipe:
            not_a_function(args, final);
            return eval_pipeline(dot, static_cast<const PipeNode*>(first));
        case NodeType::variable:
            return eval_variable_node(dot, static_cast<const VariableNode*>(first), args, final);
        default:
            break;
        }
        at(first);
        not_a_function(args, final);
        switch (first->type) {
        case NodeType::boolean:
            return Value::boolean(static_cast<const BoolNode*>(first)->value);
        case NodeType::dot:
            return dot;
        case NodeType::nil:
            failf("nil is not a command");
        case NodeType::number:
            return ideal_constant(static_cast<const NumberNode*>(first));
        case NodeType::string:
            return Value::borrowed_string(static_cast<const StringNode*>(first)->text);
        default:
            break;
        }
        failf("can't evaluate command ", QuotedNode{first});
    }

    [[gnu::noinline]] Value ideal_constant(const NumberNode* n) {
        at(n);
        const std::string_view text = n->text;
        const bool hex_int = text.size() > 2 && text[0] == '0' &&
                             (text[1] == 'x' || text[1] == 'X') &&
                             text.find_first_of("pP") == std::string_view::npos;
        const bool rune_int = !text.empty() && text[0] == '\'';
        if (n->is_complex) {
            return Value::complex(n->re, n->im);
        }
        if (n->is_float && !hex_int && !rune_int &&
            text.find_first_of(".eEpP") != std::string_view::npos) {
            return Value::float64(n->float64);
        }
        if (n->is_int) {
            return Value::integer(n->int64);
        }
        if (n->is_uint) {
            failf(text, " overflows int");
        }
        return Value();
    }

    Value eval_field_node(const Value& dot, const FieldNode* field, Args args, const Value* final) {
        at(field);
        return eval_field_chain(dot, dot, field, field->ident, args, final);
    }

    Value eval_chain_node(const Value& dot, const ChainNode* chain, Args args, const Value* final) {
        at(chain);
        if (chain->field.empty()) {
            failf("internal error: no fields in evalChainNode");
        }
        if (chain->node->type == NodeType::nil) {
            failf("indirection through explicit nil in ", static_cast<const Node*>(chain));
        }
        const Value pipe = eval_arg(dot, ParamType::none, chain->node.get());
        return eval_field_chain(dot, pipe, chain, chain->field, args, final);
    }

    Value eval_variable_node(const Value& dot,
                             const VariableNode* variable,
                             Args args,
                             const Value* final) {
        at(variable);
        Value value = var_value(variable->ident[0]);
        if (variable->ident.size() == 1) {
            not_a_function(args, final);
            return value;
        }
        return eval_field_chain(dot, value, variable,
                                std::span<const std::string>(variable->ident).subspan(1), args,
                                final);
    }

    Value eval_field_chain(const Value& dot,
                           Value receiver,
                           const Node* node,
                           std::span<const std::string> ident,
                           Args args,
                           const Value* final) {
        const std::size_t n = ident.size();
        for (std::size_t i = 0; i + 1 < n; ++i) {
            receiver = eval_field(dot, ident[i], node, {}, nullptr, receiver);
        }
        return eval_field(dot, ident[n - 1], node, args, final, receiver);
    }

    Value eval_function(const Value& dot,
                        const IdentifierNode* node,
                        const Node* cmd,
                        Args args,
                        const Value* final) {
        at(node);
        return eval_call(dot, *node->fn, node->fn->builtin, cmd, node->ident, args, final, nullptr);
    }

    [[gnu::noinline]] Value eval_field(const Value& dot,
                                       std::string_view field_name,
                                       const Node* node,
                                       Args args,
                                       const Value* final,
                                       const Value& receiver) {
        if (!receiver.valid()) {
            return Value();
        }
        const std::string_view typ = static_type_name(receiver);
        if (receiver.kind() == Kind::nil) {
            failf("nil pointer evaluating ", typ, ".", field_name);
        }
        const Value r = receiver.unboxed();
        if (r.kind() == Kind::time) {
            if (const Function* method = find_time_method(field_name)) {
                return eval_call(dot, *method, false, node, field_name, args, final, &r);
            }
        }
        const bool has_args = args.size() > 1 || final != nullptr;
        if (r.kind() == Kind::map) {
            if (has_args) {
                failf(field_name, " is not a method but has arguments");
            }
            Value result;
            if (r.find(field_name, result)) {
                return result;
            }
            return Value();
        }
        failf("can't evaluate field ", field_name, " in type ", typ);
    }

    [[gnu::noinline]] Value eval_call(const Value& dot,
                                      const Function& fn,
                                      bool is_builtin,
                                      const Node* node,
                                      std::string_view name,
                                      Args args,
                                      const Value* final,
                                      const Value* receiver) {
        if (!args.empty()) {
            args = args.subspan(1);
        }
        const std::size_t num_params = fn.params.size();
        const std::size_t num_in = args.size() + (final != nullptr ? 1 : 0);
        std::size_t num_fixed = args.size();
        if (fn.variadic) {
            num_fixed = num_params;
            if (num_in < num_fixed) {
                failf("wrong number of args for ", name, ": want at least ", num_params, " got ",
                      args.size());
            }
        } else if (num_in != num_params) {
            failf("wrong number of args for ", name, ": want ", num_params, " got ", num_in);
        }

        if (is_builtin && (name == "and" || name == "or")) {
            return and_or(dot, name == "or", args, final);
        }

        std::vector<Value> argv;
        argv.reserve(num_in + 1);
        if (receiver != nullptr) {
            argv.push_back(*receiver);
        }
        std::size_t i = 0;
        for (; i < num_fixed && i < args.size(); ++i) {
            push_arg(argv, dot, fn.params[i], args[i].get());
        }
        if (fn.variadic) {
            for (; i < args.size(); ++i) {
                push_arg(argv, dot, fn.variadic_type, args[i].get());
            }
        }
        if (final != nullptr) {
            ParamType t = num_params > 0 ? fn.params[num_params - 1] : fn.variadic_type;
            if (fn.variadic) {
                t = num_in - 1 < num_fixed ? fn.params[num_in - 1] : fn.variadic_type;
            }
            push_final(argv, *final, t);
        }
        return invoke(fn, argv, node, name);
    }

    // Go's short-circuit and/or: the first argument that decides, else the last one.
    [[gnu::noinline]] Value and_or(const Value& dot, bool is_or, Args args, const Value* final) {
        Value v;
        for (const auto& arg : args) {
            v = eval_arg(dot, ParamType::value, arg.get());
            if (truth(v.unboxed()) == is_or) {
                return v;
            }
        }
        if (final != nullptr) {
            v = validate_type(*final, ParamType::value);
        }
        return v;
    }

    // Evaluates one argument into argv (kept out of eval_call's frame: arguments recurse).
    [[gnu::noinline]] void
    push_arg(std::vector<Value>& argv, const Value& dot, ParamType t, const Node* n) {
        argv.push_back(normalize(eval_arg(dot, t, n), t));
    }

    [[gnu::noinline]] void push_final(std::vector<Value>& argv, const Value& final, ParamType t) {
        argv.push_back(normalize(validate_type(final, t), t));
    }

    [[gnu::noinline]] Value
    invoke(const Function& fn, std::vector<Value>& argv, const Node* node, std::string_view name) {
        Value result;
        try {
            result = fn.impl(ctx_, argv);
        } catch (const CallError& e) {
            at(node);
            failf("error calling ", name, ": ", e.message);
        }
        account(result, node, name);
        return result;
    }

    // Bounds what functions may build: no single string beyond the output limit, and all
    // strings and collections built in one execution together within a multiple of the
    // limits, so a loop that keeps doubling a variable cannot exhaust memory.
    [[gnu::noinline]] void account(const Value& result, const Node* node, std::string_view name) {
        if (result.json() != nullptr) {
            return;
        }
        if (result.kind() == Kind::string) {
            if (result.size() > limits_.max_output_bytes) {
                at(node);
                failf("error calling ", name, ": result exceeds the output limit of ",
                      limits_.max_output_bytes, " bytes");
            }
            produced_bytes_ += result.size();
        } else if (result.kind() == Kind::list || result.kind() == Kind::map) {
            produced_items_ += result.size();
        }
        const std::uint64_t byte_budget =
            kBuildBudget * static_cast<std::uint64_t>(limits_.max_output_bytes);
        const std::uint64_t item_budget = kBuildBudget * limits_.max_range_iterations;
        if (produced_bytes_ > byte_budget || produced_items_ > item_budget) {
            at(node);
            if (produced_bytes_ > byte_budget) {
                failf("error calling ", name, ": template functions built more than ", byte_budget,
                      " bytes in this execution");
            }
            failf("error calling ", name, ": template functions built more than ", item_budget,
                  " elements in this execution");
        }
    }

    // Arguments of interface{} parameters reach functions as their dynamic value.
    static Value normalize(const Value& v, ParamType t) {
        return t == ParamType::any ? v.unboxed() : v;
    }

    [[gnu::noinline]] Value validate_type(const Value& value, ParamType typ) {
        if (!value.valid()) {
            switch (typ) {
            case ParamType::none:
            case ParamType::value:
                return Value();
            case ParamType::any:
                return Value::nil_interface();
            case ParamType::map_any:
                return Value::map({}, Elem::any);
            case ParamType::list_any:
                return Value::list({}, Elem::any);
            default:
                failf("invalid value; expected ", param_type_name(typ));
            }
        }
        if (typ == ParamType::none || typ == ParamType::value || typ == ParamType::any) {
            return value;
        }
        if (assignable(value, typ)) {
            return value;
        }
        Value v = value;
        if (v.boxed() && v.kind() != Kind::nil) {
            v = v.unboxed();
            if (assignable(v, typ)) {
                return v;
            }
        }
        failf("wrong type for value; expected ", param_type_name(typ), "; got ",
              static_type_name(v));
    }

    Value eval_arg(const Value& dot, ParamType typ, const Node* n) {
        at(n);
        switch (n->type) {
        case NodeType::dot:
            return validate_type(dot, typ);
        case NodeType::nil:
            switch (typ) {
            case ParamType::any:
                return Value::nil_interface();
            case ParamType::value:
                return Value();
            case ParamType::map_any:
                return Value::map({}, Elem::any);
            case ParamType::list_any:
                return Value::list({}, Elem::any);
            default:
                failf("cannot assign nil to ", param_type_name(typ));
            }
        case NodeType::field: {
            const Value v =
                eval_field_chain(dot, dot, n, static_cast<const FieldNode*>(n)->ident, {}, nullptr);
            return validate_type(v, typ);
        }
        case NodeType::variable:
            return validate_type(
                eval_variable_node(dot, static_cast<const VariableNode*>(n), {}, nullptr), typ);
        case NodeType::pipe:
            return validate_type(eval_pipeline(dot, static_cast<const PipeNode*>(n)), typ);
        case NodeType::identifier:
            return validate_type(
                eval_function(dot, static_cast<const IdentifierNode*>(n), n, {}, nullptr), typ);
        case NodeType::chain:
            return validate_type(
                eval_chain_node(dot, static_cast<const ChainNode*>(n), {}, nullptr), typ);
        default:
            break;
        }
        switch (typ) {
        case ParamType::bool_:
            if (n->type == NodeType::boolean) {
                return Value::boolean(static_cast<const BoolNode*>(n)->value);
            }
            failf("expected bool; found ", n);
        case ParamType::float64_:
            if (n->type == NodeType::number && static_cast<const NumberNode*>(n)->is_float) {
                return Value::float64(static_cast<const NumberNode*>(n)->float64);
            }
            failf("expected float; found ", n);
        case ParamType::int_:
        case ParamType::int64_:
            if (n->type == NodeType::number && static_cast<const NumberNode*>(n)->is_int) {
                const std::int64_t i = static_cast<const NumberNode*>(n)->int64;
                return typ == ParamType::int_ ? Value::integer(i) : Value::int64(i);
            }
            failf("expected integer; found ", n);
        case ParamType::any:
        case ParamType::value:
            return eval_empty_interface(dot, n);
        case ParamType::string_:
            if (n->type == NodeType::string) {
                return Value::borrowed_string(static_cast<const StringNode*>(n)->text);
            }
            failf("expected string; found ", n);
        default:
            break;
        }
        failf("can't handle ", n, " for arg of type ", param_type_name(typ));
    }

    [[gnu::noinline]] Value eval_empty_interface(const Value& dot, const Node* n) {
        at(n);
        switch (n->type) {
        case NodeType::boolean:
            return Value::boolean(static_cast<const BoolNode*>(n)->value);
        case NodeType::dot:
            return dot;
        case NodeType::number:
            return ideal_constant(static_cast<const NumberNode*>(n));
        case NodeType::string:
            return Value::borrowed_string(static_cast<const StringNode*>(n)->text);
        default:
            break;
        }
        failf("can't handle assignment of ", n, " to empty interface argument");
    }

    [[gnu::noinline]] void print_value(const Node* n, const Value& v) {
        at(n);
        if (!v.valid()) {
            out_ += "<no value>";
        } else {
            fmt_print_value(out_, v);
        }
        check_output();
    }

    const Program& prog_;
    std::string& out_;
    const Limits& limits_;
    const std::size_t base_;
    CallContext ctx_;
    const Tree* tree_ = nullptr;
    std::string_view name_;
    const Node* node_ = nullptr;
    std::vector<Var> vars_;
    int depth_ = 0;
    int nesting_ = 0;
    std::uint64_t iterations_ = 0;
    std::uint64_t produced_bytes_ = 0;
    std::uint64_t produced_items_ = 0;
};

} // namespace

} // namespace detail

std::optional<Template>
Template::parse(std::string_view name, std::string_view text, std::string& error) {
    try {
        std::unique_ptr<detail::Program> prog = detail::parse_program(name, text, error);
        if (!prog) {
            return std::nullopt;
        }
        Template t;
        t.program_ = std::move(prog);
        return t;
    } catch (const std::exception& e) {
        error = "template: " + std::string(name) + ": " + e.what();
        return std::nullopt;
    }
}

std::string
Template::execute(const nlohmann::json& data, std::string& out, const Limits& limits) const {
    try {
        detail::Exec exec(*program_, out, limits);
        return exec.run(data);
    } catch (const std::exception& e) {
        return "template: " + program_->name + ": internal error: " + e.what();
    }
}

const std::string& Template::name() const noexcept {
    return program_->name;
}

} // namespace portcullis::tmpl
