#pragma once

// Parse trees of Go's text/template/parse, and the parsed program (the trees of one parse).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::tmpl::detail {

struct Function;

enum class NodeType : std::uint8_t {
    text,
    action,
    boolean,
    chain,
    command,
    dot,
    field,
    identifier,
    if_,
    list,
    nil,
    number,
    pipe,
    range,
    string,
    template_,
    variable,
    with,
    break_,
    continue_,
    end,   // {{end}}, only while parsing
    else_, // {{else}}, only while parsing
};

struct Node {
    Node(NodeType t, std::uint32_t p) : type(t), pos(p) {}
    virtual ~Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    /// Go's Node.String(), used in error messages.
    std::string to_string() const;
    void write_to(std::string& out) const;

    NodeType type;
    std::uint32_t pos; // byte offset in the template text
};

using NodePtr = std::unique_ptr<Node>;

struct ListNode : Node {
    explicit ListNode(std::uint32_t p) : Node(NodeType::list, p) {}
    std::vector<NodePtr> nodes;
};

struct TextNode : Node {
    TextNode(std::uint32_t p, std::string_view t) : Node(NodeType::text, p), text(t) {}
    std::string text;
};

struct VariableNode : Node {
    VariableNode(std::uint32_t p, std::string_view name);
    std::vector<std::string> ident; // "$x", then field names
};

struct CommandNode : Node {
    explicit CommandNode(std::uint32_t p) : Node(NodeType::command, p) {}
    std::vector<NodePtr> args;
};

struct PipeNode : Node {
    PipeNode(std::uint32_t p, int l) : Node(NodeType::pipe, p), line(l) {}
    int line;
    bool is_assign = false;
    std::vector<std::unique_ptr<VariableNode>> decl;
    std::vector<std::unique_ptr<CommandNode>> cmds;
};

struct ActionNode : Node {
    ActionNode(std::uint32_t p, int l, std::unique_ptr<PipeNode> pp)
        : Node(NodeType::action, p), line(l), pipe(std::move(pp)) {}
    int line;
    std::unique_ptr<PipeNode> pipe;
};

struct FieldNode : Node {
    FieldNode(std::uint32_t p, std::string_view dotted);
    std::vector<std::string> ident; // without dots
};

struct ChainNode : Node {
    ChainNode(std::uint32_t p, NodePtr n) : Node(NodeType::chain, p), node(std::move(n)) {}
    NodePtr node;
    std::vector<std::string> field;
};

struct IdentifierNode : Node {
    IdentifierNode(std::uint32_t p, std::string_view name, const Function* f)
        : Node(NodeType::identifier, p), ident(name), fn(f) {}
    std::string ident;
    const Function* fn;
};

struct BoolNode : Node {
    BoolNode(std::uint32_t p, bool v) : Node(NodeType::boolean, p), value(v) {}
    bool value;
};

struct NumberNode : Node {
    NumberNode(std::uint32_t p, std::string_view t) : Node(NodeType::number, p), text(t) {}
    bool is_int = false;
    bool is_uint = false;
    bool is_float = false;
    bool is_complex = false;
    std::int64_t int64 = 0;
    std::uint64_t uint64 = 0;
    double float64 = 0;
    double re = 0;
    double im = 0;
    std::string text;
};

struct StringNode : Node {
    StringNode(std::uint32_t p, std::string_view q, std::string t)
        : Node(NodeType::string, p), quoted(q), text(std::move(t)) {}
    std::string quoted;
    std::string text;
};

/// if, range and with.
struct BranchNode : Node {
    BranchNode(NodeType t, std::uint32_t p, int l) : Node(t, p), line(l) {}
    int line;
    std::unique_ptr<PipeNode> pipe;
    std::unique_ptr<ListNode> list;
    std::unique_ptr<ListNode> else_list;
};

struct TemplateNode : Node {
    TemplateNode(std::uint32_t p, int l, std::string n, std::unique_ptr<PipeNode> pp)
        : Node(NodeType::template_, p), line(l), name(std::move(n)), pipe(std::move(pp)) {}
    int line;
    std::string name;
    std::unique_ptr<PipeNode> pipe;
};

/// One template: the top level or a {{define}} / {{block}}.
struct Tree {
    std::string name;
    std::unique_ptr<ListNode> root;
};

/// Everything one parse produced. Immutable after parsing; shared by executions.
struct Program {
    std::string name; // the top-level template, also the name in error locations
    std::string text; // the template source; nodes' positions index it
    std::map<std::string, std::unique_ptr<Tree>, std::less<>> trees;
};

} // namespace portcullis::tmpl::detail
