#include "middleware/template/parser.hpp"

#include "middleware/template/functions.hpp"
#include "middleware/template/lexer.hpp"
#include "middleware/template/message_parts.hpp"
#include "middleware/template/text.hpp"

#include <cmath>
#include <limits>
#include <utility>

namespace portcullis::tmpl::detail {

namespace {

struct ParseError {
    std::string message;
};

bool is_empty_tree(const Node* n) {
    if (n == nullptr) {
        return true;
    }
    switch (n->type) {
    case NodeType::list:
        for (const auto& child : static_cast<const ListNode*>(n)->nodes) {
            if (!is_empty_tree(child.get())) {
                return false;
            }
        }
        return true;
    case NodeType::text:
        return trim_space(static_cast<const TextNode*>(n)->text).empty();
    default:
        return false;
    }
}

// A lexer item's text: a part of error messages (see Parser::failf).
struct ItemText {
    const Item* item;
};
using detail::append_part; // the shared parts (message_parts.hpp)
void append_part(std::string& out, const ItemText& i) {
    out += item_string(*i.item);
}

struct Control {
    std::uint32_t pos;
    int line;
    std::unique_ptr<PipeNode> pipe;
    std::unique_ptr<ListNode> list;
    std::unique_ptr<ListNode> else_list;
};

// Go's parse.Tree, flattened: the lookahead buffer and variable scope of the tree being
// parsed, plus the set of trees (the Program) being built.
class Parser {
  public:
    explicit Parser(Program& prog) : prog_(prog) {}

    void run() {
        lex_ = lex(prog_.text);
        auto tree = std::make_unique<Tree>();
        tree->name = prog_.name;
        vars_ = {"$"};
        tree->root = parse();
        add(std::move(tree));
    }

  private:
    // --- token stream -------------------------------------------------------------------

    Item lex_next() {
        const Item item = lex_.items[next_item_];
        if (next_item_ + 1 < lex_.items.size()) {
            ++next_item_;
        }
        return item;
    }

    Item next() {
        if (peek_count_ > 0) {
            --peek_count_;
        } else {
            token_[0] = lex_next();
        }
        return token_[peek_count_];
    }

    void backup() { ++peek_count_; }

    void backup2(const Item& t1) {
        token_[1] = t1;
        peek_count_ = 2;
    }

    void backup3(const Item& t2, const Item& t1) {
        token_[1] = t1;
        token_[2] = t2;
        peek_count_ = 3;
    }

    Item peek() {
        if (peek_count_ > 0) {
            return token_[peek_count_ - 1];
        }
        peek_count_ = 1;
        token_[0] = lex_next();
        return token_[0];
    }

    Item next_non_space() {
        Item token;
        do {
            token = next();
        } while (token.type == ItemType::space);
        return token;
    }

    Item peek_non_space() {
        Item token = next_non_space();
        backup();
        return token;
    }

    // --- errors -------------------------------------------------------------------------

    [[noreturn]] [[gnu::noinline]] [[gnu::cold]] void errorf(const std::string& message) {
        throw ParseError{"template: " + prog_.name + ":" + std::to_string(token_[0].line) + ": " +
                         message};
    }

    // Builds an error message from parts in a frame of its own, keeping the recursive descent
    // functions' frames small (hostile templates nest deeply).
    template <class... Parts>
    [[noreturn]] [[gnu::noinline]] [[gnu::cold]] void failf(const Parts&... parts) {
        std::string message;
        (append_part(message, parts), ...);
        errorf(message);
    }

    [[gnu::noinline]] Item expect(ItemType expected, std::string_view context) {
        Item token = next_non_space();
        if (token.type != expected) {
            unexpected(token, context);
        }
        return token;
    }

    [[gnu::noinline]] Item expect_one_of(ItemType e1, ItemType e2, std::string_view context) {
        Item token = next_non_space();
        if (token.type != e1 && token.type != e2) {
            unexpected(token, context);
        }
        return token;
    }

    [[noreturn]] [[gnu::noinline]] [[gnu::cold]] void unexpected(const Item& token,
                                                                 std::string_view context) {
        if (token.type == ItemType::error) {
            std::string extra;
            if (action_line_ != 0 && action_line_ != token.line) {
                extra = " in action started at " + prog_.name + ":" + std::to_string(action_line_);
                if (token.val.ends_with(" action")) {
                    extra = extra.substr(std::string_view(" in action").size());
                }
            }
            failf(token.val, extra);
        }
        failf("unexpected ", ItemText{&token}, " in ", context);
    }

    void enter(std::string_view message) {
        if (++depth_ > kMaxParseDepth) {
            failf(message);
        }
    }
    void leave() { --depth_; }

    // --- trees --------------------------------------------------------------------------

    [[gnu::noinline]] void add(std::unique_ptr<Tree> tree) {
        auto it = prog_.trees.find(tree->name);
        if (it == prog_.trees.end() || is_empty_tree(it->second->root.get())) {
            const std::string name = tree->name;
            prog_.trees[name] = std::move(tree);
            return;
        }
        if (!is_empty_tree(tree->root.get())) {
            failf("template: multiple definition of template ", Quoted{tree->name});
        }
    }

    std::unique_ptr<ListNode> parse() {
        auto root = std::make_unique<ListNode>(peek().pos);
        while (peek().type != ItemType::eof) {
            if (peek().type == ItemType::left_delim) {
                const Item delim = next();
                if (next_non_space().type == ItemType::define) {
                    auto saved_vars = std::move(vars_);
                    const int saved_range = range_depth_;
                    vars_ = {"$"};
                    range_depth_ = 0;
                    parse_definition();
                    vars_ = std::move(saved_vars);
                    range_depth_ = saved_range;
                    continue;
                }
                backup2(delim);
            }
            NodePtr n = text_or_action();
            if (n->type == NodeType::end || n->type == NodeType::else_) {
                failf("unexpected ", n.get());
            }
            root->nodes.push_back(std::move(n));
        }
        return root;
    }

    [[gnu::noinline]] void parse_definition() {
        constexpr std::string_view context = "define clause";
        const Item name = expect_one_of(ItemType::string, ItemType::raw_string, context);
        auto unquoted = unquote(name.val);
        if (!unquoted) {
            errorf("invalid syntax");
        }
        auto tree = std::make_unique<Tree>();
        tree->name = std::move(*unquoted);
        expect(ItemType::right_delim, context);
        auto [list, end] = item_list();
        if (end->type != NodeType::end) {
            failf("unexpected ", end.get(), " in ", context);
        }
        tree->root = std::move(list);
        add(std::move(tree));
    }

    std::pair<std::unique_ptr<ListNode>, NodePtr> item_list() {
        auto list = std::make_unique<ListNode>(peek_non_space().pos);
        while (peek_non_space().type != ItemType::eof) {
            NodePtr n = text_or_action();
            if (n->type == NodeType::end || n->type == NodeType::else_) {
                return {std::move(list), std::move(n)};
            }
            list->nodes.push_back(std::move(n));
        }
        errorf("unexpected EOF");
    }

    NodePtr text_or_action() {
        const Item token = next_non_space();
        switch (token.type) {
        case ItemType::text:
            return std::make_unique<TextNode>(token.pos, token.val);
        case ItemType::left_delim: {
            action_line_ = token.line;
            NodePtr n = action();
            action_line_ = 0;
            return n;
        }
        default:
            unexpected(token, "input");
        }
    }

    NodePtr action() {
        const Item token = next_non_space();
        switch (token.type) {
        case ItemType::block:
            return block_control();
        case ItemType::break_:
            return break_control(token, "{{break}}", NodeType::break_);
        case ItemType::continue_:
            return break_control(token, "{{continue}}", NodeType::continue_);
        case ItemType::else_:
            return else_control();
        case ItemType::end:
            return end_control();
        case ItemType::if_:
            return branch(true, "if", NodeType::if_);
        case ItemType::range:
            return branch(false, "range", NodeType::range);
        case ItemType::template_:
            return template_control();
        case ItemType::with:
            return branch(false, "with", NodeType::with);
        default:
            break;
        }
        backup();
        const Item first = peek();
        return std::make_unique<ActionNode>(first.pos, first.line,
                                            pipeline("command", ItemType::right_delim));
    }

    [[gnu::noinline]] NodePtr
    break_control(const Item& keyword, std::string_view name, NodeType type) {
        const Item token = next_non_space();
        if (token.type != ItemType::right_delim) {
            unexpected(token, name);
        }
        if (range_depth_ == 0) {
            failf(name, " outside {{range}}");
        }
        return std::make_unique<Node>(type, keyword.pos);
    }

    // The declarations or assignments that may start a pipeline ("$x :=", "$i, $e :=").
    [[gnu::noinline]] void declarations(PipeNode& pipe_node, std::string_view context) {
        PipeNode* pipe = &pipe_node;
        while (true) {
            const Item v = peek_non_space();
            if (v.type != ItemType::variable) {
                break;
            }
            next();
            const Item token_after_variable = peek();
            const Item nxt = peek_non_space();
            if (nxt.type == ItemType::assign || nxt.type == ItemType::declare) {
                pipe->is_assign = nxt.type == ItemType::assign;
                next_non_space();
                pipe->decl.push_back(std::make_unique<VariableNode>(v.pos, v.val));
                vars_.emplace_back(v.val);
            } else if (nxt.type == ItemType::chr && nxt.val == ",") {
                next_non_space();
                pipe->decl.push_back(std::make_unique<VariableNode>(v.pos, v.val));
                vars_.emplace_back(v.val);
                if (context == "range" && pipe->decl.size() < 2) {
                    const ItemType t = peek_non_space().type;
                    if (t == ItemType::variable || t == ItemType::right_delim ||
                        t == ItemType::right_paren) {
                        continue; // second initialized variable in a range pipeline
                    }
                    errorf("range can only initialize variables");
                }
                failf("too many declarations in ", context);
            } else if (token_after_variable.type == ItemType::space) {
                backup3(v, token_after_variable);
            } else {
                backup2(v);
            }
            break;
        }
    }

    std::unique_ptr<PipeNode> pipeline(std::string_view context, ItemType end) {
        const Item first = peek_non_space();
        auto pipe = std::make_unique<PipeNode>(first.pos, first.line);
        declarations(*pipe, context);
        while (true) {
            const Item token = next_non_space();
            if (token.type == end) {
                check_pipeline(*pipe, context);
                return pipe;
            }
            switch (token.type) {
            case ItemType::boolean:
            case ItemType::char_constant:
            case ItemType::complex:
            case ItemType::dot:
            case ItemType::field:
            case ItemType::identifier:
            case ItemType::number:
            case ItemType::nil:
            case ItemType::raw_string:
            case ItemType::string:
            case ItemType::variable:
            case ItemType::left_paren:
                backup();
                pipe->cmds.push_back(command());
                break;
            default:
                unexpected(token, context);
            }
        }
    }

    [[gnu::noinline]] void check_pipeline(const PipeNode& pipe, std::string_view context) {
        if (pipe.cmds.empty()) {
            failf("missing value for ", context);
        }
        for (std::size_t i = 1; i < pipe.cmds.size(); ++i) {
            switch (pipe.cmds[i]->args[0]->type) {
            case NodeType::boolean:
            case NodeType::dot:
            case NodeType::nil:
            case NodeType::number:
            case NodeType::string:
                failf("non executable command in pipeline stage ", i + 1);
            default:
                break;
            }
        }
    }

    Control parse_control(bool allow_else_if, std::string_view context) {
        enter("max nesting depth exceeded");
        const std::size_t mark = vars_.size();
        Control c;
        c.pipe = pipeline(context, ItemType::right_delim);
        if (context == "range") {
            ++range_depth_;
        }
        auto [list, next_node] = item_list();
        if (context == "range") {
            --range_depth_;
        }
        c.list = std::move(list);
        if (next_node->type == NodeType::else_) {
            if (allow_else_if && peek().type == ItemType::if_) {
                next();
                c.else_list = std::make_unique<ListNode>(next_node->pos);
                c.else_list->nodes.push_back(branch(true, "if", NodeType::if_));
            } else {
                auto [else_list, end] = item_list();
                if (end->type != NodeType::end) {
                    failf("expected end; found ", end.get());
                }
                c.else_list = std::move(else_list);
            }
        }
        vars_.resize(mark);
        c.pos = c.pipe->pos;
        c.line = c.pipe->line;
        leave();
        return c;
    }

    NodePtr branch(bool allow_else_if, std::string_view context, NodeType type) {
        Control c = parse_control(allow_else_if, context);
        auto node = std::make_unique<BranchNode>(type, c.pos, c.line);
        node->pipe = std::move(c.pipe);
        node->list = std::move(c.list);
        node->else_list = std::move(c.else_list);
        return node;
    }

    [[gnu::noinline]] NodePtr end_control() {
        return std::make_unique<Node>(NodeType::end, expect(ItemType::right_delim, "end").pos);
    }

    [[gnu::noinline]] NodePtr else_control() {
        const Item pk = peek_non_space();
        if (pk.type == ItemType::if_) {
            return std::make_unique<Node>(NodeType::else_, pk.pos);
        }
        const Item token = expect(ItemType::right_delim, "else");
        return std::make_unique<Node>(NodeType::else_, token.pos);
    }

    [[gnu::noinline]] NodePtr block_control() {
        constexpr std::string_view context = "block clause";
        const Item token = next_non_space();
        std::string name = parse_template_name(token, context);
        auto pipe = pipeline(context, ItemType::right_delim);

        enter("max nesting depth exceeded");
        auto saved_vars = std::move(vars_);
        const int saved_range = range_depth_;
        vars_ = {"$"};
        range_depth_ = 0;
        auto [list, end] = item_list();
        if (end->type != NodeType::end) {
            failf("unexpected ", end.get(), " in ", context);
        }
        auto tree = std::make_unique<Tree>();
        tree->name = name;
        tree->root = std::move(list);
        add(std::move(tree));
        vars_ = std::move(saved_vars);
        range_depth_ = saved_range;
        leave();
        return std::make_unique<TemplateNode>(token.pos, token.line, std::move(name),
                                              std::move(pipe));
    }

    [[gnu::noinline]] NodePtr template_control() {
        constexpr std::string_view context = "template clause";
        const Item token = next_non_space();
        std::string name = parse_template_name(token, context);
        std::unique_ptr<PipeNode> pipe;
        if (next_non_space().type != ItemType::right_delim) {
            backup();
            pipe = pipeline(context, ItemType::right_delim);
        }
        return std::make_unique<TemplateNode>(token.pos, token.line, std::move(name),
                                              std::move(pipe));
    }

    [[gnu::noinline]] std::string parse_template_name(const Item& token, std::string_view context) {
        if (token.type == ItemType::string || token.type == ItemType::raw_string) {
            auto s = unquote(token.val);
            if (!s) {
                errorf("invalid syntax");
            }
            return std::move(*s);
        }
        unexpected(token, context);
    }

    [[gnu::noinline]] std::unique_ptr<CommandNode> command() {
        auto cmd = std::make_unique<CommandNode>(peek_non_space().pos);
        while (true) {
            peek_non_space();
            NodePtr op = operand();
            if (op) {
                cmd->args.push_back(std::move(op));
            }
            const Item token = next();
            if (token.type == ItemType::space) {
                continue;
            }
            if (token.type == ItemType::right_delim || token.type == ItemType::right_paren) {
                backup();
            } else if (token.type != ItemType::pipe) {
                unexpected(token, "operand");
            }
            break;
        }
        if (cmd->args.empty()) {
            errorf("empty command");
        }
        return cmd;
    }

    [[gnu::noinline]] NodePtr operand() {
        NodePtr node = term();
        if (!node) {
            return nullptr;
        }
        if (peek().type == ItemType::field) {
            return chain(std::move(node));
        }
        return node;
    }

    // term .Field*: folded into a field or variable node, or kept as a chain.
    [[gnu::noinline]] NodePtr chain(NodePtr node) {
        const std::uint32_t chain_pos = peek().pos;
        std::vector<std::string> fields;
        while (peek().type == ItemType::field) {
            fields.emplace_back(next().val.substr(1));
        }
        switch (node->type) {
        case NodeType::field:
        case NodeType::variable: {
            std::string dotted = node->to_string();
            for (const auto& f : fields) {
                dotted += '.';
                dotted += f;
            }
            if (node->type == NodeType::field) {
                return std::make_unique<FieldNode>(chain_pos, dotted);
            }
            return std::make_unique<VariableNode>(chain_pos, dotted);
        }
        case NodeType::boolean:
        case NodeType::string:
        case NodeType::number:
        case NodeType::nil:
        case NodeType::dot:
            failf("unexpected . after term ", QuotedNode{node.get()});
        default: {
            auto c = std::make_unique<ChainNode>(chain_pos, std::move(node));
            c->field = std::move(fields);
            return c;
        }
        }
    }

    [[gnu::noinline]] NodePtr term() {
        const Item token = next_non_space();
        switch (token.type) {
        case ItemType::identifier:
            return identifier(token);
        case ItemType::dot:
            return std::make_unique<Node>(NodeType::dot, token.pos);
        case ItemType::nil:
            return std::make_unique<Node>(NodeType::nil, token.pos);
        case ItemType::variable:
            return use_var(token.pos, token.val);
        case ItemType::field:
            return std::make_unique<FieldNode>(token.pos, token.val);
        case ItemType::boolean:
            return std::make_unique<BoolNode>(token.pos, token.val == "true");
        case ItemType::char_constant:
        case ItemType::complex:
        case ItemType::number:
            return new_number(token.pos, token.val, token.type);
        case ItemType::left_paren: {
            enter("max expression depth exceeded");
            auto pipe = pipeline("parenthesized pipeline", ItemType::right_paren);
            leave();
            return pipe;
        }
        case ItemType::string:
        case ItemType::raw_string:
            return string_node(token);
        default:
            break;
        }
        backup();
        return nullptr;
    }

    [[gnu::noinline]] NodePtr string_node(const Item& token) {
        auto s = unquote(token.val);
        if (!s) {
            errorf("invalid syntax");
        }
        return std::make_unique<StringNode>(token.pos, token.val, std::move(*s));
    }

    [[gnu::noinline]] NodePtr identifier(const Item& token) {
        const Function* fn = find_function(token.val);
        if (fn == nullptr) {
            failf("function ", Quoted{token.val}, " not defined");
        }
        return std::make_unique<IdentifierNode>(token.pos, token.val, fn);
    }

    [[gnu::noinline]] NodePtr use_var(std::uint32_t pos, std::string_view name) {
        auto v = std::make_unique<VariableNode>(pos, name);
        for (const auto& var : vars_) {
            if (var == v->ident[0]) {
                return v;
            }
        }
        failf("undefined variable ", Quoted{v->ident[0]});
    }

    static void simplify_complex(NumberNode& n) {
        n.is_float = n.im == 0;
        if (n.is_float) {
            n.float64 = n.re;
            n.is_int =
                std::trunc(n.float64) == n.float64 && std::fabs(n.float64) < 9.2233720368547758e18;
            if (n.is_int) {
                n.int64 = static_cast<std::int64_t>(n.float64);
            }
            n.is_uint = std::trunc(n.float64) == n.float64 && n.float64 >= 0 &&
                        n.float64 < 1.8446744073709552e19;
            if (n.is_uint) {
                n.uint64 = static_cast<std::uint64_t>(n.float64);
            }
        }
    }

    [[gnu::noinline]] std::unique_ptr<NumberNode>
    new_number(std::uint32_t pos, std::string_view text, ItemType typ) {
        auto n = std::make_unique<NumberNode>(pos, text);
        if (typ == ItemType::char_constant) {
            char32_t r = 0;
            std::size_t consumed = 0;
            if (!unquote_char(text.substr(1), text[0], r, consumed)) {
                errorf("invalid syntax");
            }
            if (text.substr(1 + consumed) != "'") {
                failf("malformed character constant: ", text);
            }
            n->int64 = static_cast<std::int64_t>(r);
            n->is_int = true;
            n->uint64 = static_cast<std::uint64_t>(r);
            n->is_uint = true;
            n->float64 = static_cast<double>(r);
            n->is_float = true;
            return n;
        }
        if (typ == ItemType::complex) {
            // fmt.Sscan of "re+imi": split at the sign that starts the imaginary part.
            std::size_t split = std::string_view::npos;
            for (std::size_t i = 1; i < text.size(); ++i) {
                if ((text[i] == '+' || text[i] == '-') && text[i - 1] != 'e' &&
                    text[i - 1] != 'E' && text[i - 1] != 'p' && text[i - 1] != 'P') {
                    split = i;
                }
            }
            std::optional<double> re;
            std::optional<double> im;
            if (split != std::string_view::npos && text.back() == 'i') {
                re = parse_float(text.substr(0, split));
                im = parse_float(text.substr(split, text.size() - split - 1));
            }
            if (!re || !im) {
                errorf("expected integer");
            }
            n->is_complex = true;
            n->re = *re;
            n->im = *im;
            simplify_complex(*n);
            return n;
        }
        if (!text.empty() && text.back() == 'i') {
            if (auto f = parse_float(text.substr(0, text.size() - 1))) {
                n->is_complex = true;
                n->re = 0;
                n->im = *f;
                simplify_complex(*n);
                return n;
            }
        }
        const auto u = parse_uint_base0(text);
        if (u) {
            n->is_uint = true;
            n->uint64 = *u;
        }
        const auto i = parse_int_base0(text);
        if (i) {
            n->is_int = true;
            n->int64 = *i;
            if (*i == 0) {
                n->is_uint = true;
                n->uint64 = u.value_or(0);
            }
        }
        if (n->is_int) {
            n->is_float = true;
            n->float64 = static_cast<double>(n->int64);
        } else if (n->is_uint) {
            n->is_float = true;
            n->float64 = static_cast<double>(n->uint64);
        } else if (auto f = parse_float(text)) {
            if (text.find_first_of(".eEpP") == std::string_view::npos) {
                failf("integer overflow: ", Quoted{text});
            }
            n->is_float = true;
            n->float64 = *f;
            if (std::trunc(*f) == *f && std::fabs(*f) < 9.2233720368547758e18) {
                n->is_int = true;
                n->int64 = static_cast<std::int64_t>(*f);
            }
            if (std::trunc(*f) == *f && *f >= 0 && *f < 1.8446744073709552e19) {
                n->is_uint = true;
                n->uint64 = static_cast<std::uint64_t>(*f);
            }
        }
        if (!n->is_int && !n->is_uint && !n->is_float) {
            failf("illegal number syntax: ", Quoted{text});
        }
        return n;
    }

    Program& prog_;
    LexResult lex_;
    std::size_t next_item_ = 0;
    Item token_[3] = {};
    int peek_count_ = 0;
    std::vector<std::string> vars_;
    int action_line_ = 0;
    int range_depth_ = 0;
    int depth_ = 0;
};

} // namespace

std::unique_ptr<Program>
parse_program(std::string_view name, std::string_view text, std::string& error) {
    auto prog = std::make_unique<Program>();
    prog->name = std::string(name);
    prog->text = std::string(text);
    try {
        Parser parser(*prog);
        parser.run();
    } catch (const ParseError& e) {
        error = e.message;
        return nullptr;
    }
    return prog;
}

} // namespace portcullis::tmpl::detail
