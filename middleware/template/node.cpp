#include "middleware/template/node.hpp"

#include "middleware/template/text.hpp"

namespace portcullis::tmpl::detail {

namespace {

std::vector<std::string> split_dots(std::string_view s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = s.find('.', start);
        if (dot == std::string_view::npos) {
            out.emplace_back(s.substr(start));
            return out;
        }
        out.emplace_back(s.substr(start, dot - start));
        start = dot + 1;
    }
}

} // namespace

VariableNode::VariableNode(std::uint32_t p, std::string_view name)
    : Node(NodeType::variable, p), ident(split_dots(name)) {}

FieldNode::FieldNode(std::uint32_t p, std::string_view dotted)
    : Node(NodeType::field, p), ident(split_dots(dotted.substr(1))) {}

std::string Node::to_string() const {
    std::string out;
    write_to(out);
    return out;
}

void Node::write_to(std::string& out) const {
    switch (type) {
    case NodeType::text:
        out += static_cast<const TextNode*>(this)->text;
        return;
    case NodeType::action:
        out += "{{";
        static_cast<const ActionNode*>(this)->pipe->write_to(out);
        out += "}}";
        return;
    case NodeType::boolean:
        out += static_cast<const BoolNode*>(this)->value ? "true" : "false";
        return;
    case NodeType::chain: {
        const auto* c = static_cast<const ChainNode*>(this);
        if (c->node->type == NodeType::pipe) {
            out.push_back('(');
            c->node->write_to(out);
            out.push_back(')');
        } else {
            c->node->write_to(out);
        }
        for (const auto& f : c->field) {
            out.push_back('.');
            out += f;
        }
        return;
    }
    case NodeType::command: {
        const auto* c = static_cast<const CommandNode*>(this);
        for (std::size_t i = 0; i < c->args.size(); ++i) {
            if (i > 0) {
                out.push_back(' ');
            }
            if (c->args[i]->type == NodeType::pipe) {
                out.push_back('(');
                c->args[i]->write_to(out);
                out.push_back(')');
                continue;
            }
            c->args[i]->write_to(out);
        }
        return;
    }
    case NodeType::dot:
        out.push_back('.');
        return;
    case NodeType::field:
        for (const auto& f : static_cast<const FieldNode*>(this)->ident) {
            out.push_back('.');
            out += f;
        }
        return;
    case NodeType::identifier:
        out += static_cast<const IdentifierNode*>(this)->ident;
        return;
    case NodeType::if_:
    case NodeType::range:
    case NodeType::with: {
        const auto* b = static_cast<const BranchNode*>(this);
        out += type == NodeType::if_ ? "{{if " : (type == NodeType::range ? "{{range " : "{{with ");
        b->pipe->write_to(out);
        out += "}}";
        b->list->write_to(out);
        if (b->else_list) {
            out += "{{else}}";
            b->else_list->write_to(out);
        }
        out += "{{end}}";
        return;
    }
    case NodeType::list:
        for (const auto& n : static_cast<const ListNode*>(this)->nodes) {
            n->write_to(out);
        }
        return;
    case NodeType::nil:
        out += "nil";
        return;
    case NodeType::number:
        out += static_cast<const NumberNode*>(this)->text;
        return;
    case NodeType::pipe: {
        const auto* p = static_cast<const PipeNode*>(this);
        if (!p->decl.empty()) {
            for (std::size_t i = 0; i < p->decl.size(); ++i) {
                if (i > 0) {
                    out += ", ";
                }
                p->decl[i]->write_to(out);
            }
            out += " := ";
        }
        for (std::size_t i = 0; i < p->cmds.size(); ++i) {
            if (i > 0) {
                out += " | ";
            }
            p->cmds[i]->write_to(out);
        }
        return;
    }
    case NodeType::string:
        out += static_cast<const StringNode*>(this)->quoted;
        return;
    case NodeType::template_: {
        const auto* t = static_cast<const TemplateNode*>(this);
        out += "{{template ";
        append_quote(out, t->name);
        if (t->pipe) {
            out.push_back(' ');
            t->pipe->write_to(out);
        }
        out += "}}";
        return;
    }
    case NodeType::variable: {
        const auto* v = static_cast<const VariableNode*>(this);
        for (std::size_t i = 0; i < v->ident.size(); ++i) {
            if (i > 0) {
                out.push_back('.');
            }
            out += v->ident[i];
        }
        return;
    }
    case NodeType::break_:
        out += "{{break}}";
        return;
    case NodeType::continue_:
        out += "{{continue}}";
        return;
    case NodeType::end:
        out += "{{end}}";
        return;
    case NodeType::else_:
        out += "{{else}}";
        return;
    }
}

} // namespace portcullis::tmpl::detail
