#include "middleware/template/lexer.hpp"

#include "middleware/template/text.hpp"

#include <cstdio>

namespace portcullis::tmpl::detail {

namespace {

constexpr std::string_view kLeftDelim = "{{";
constexpr std::string_view kRightDelim = "}}";
constexpr std::string_view kLeftComment = "/*";
constexpr std::string_view kRightComment = "*/";
constexpr std::size_t kTrimMarkerLen = 2; // marker plus space before or after
constexpr char32_t kEof = 0xFFFFFFFF;

bool is_space_char(char32_t r) {
    return r == ' ' || r == '\t' || r == '\r' || r == '\n';
}

bool is_alnum(char32_t r) {
    return r == '_' || (r != kEof && (is_letter(r) || is_digit(r)));
}

bool has_left_trim_marker(std::string_view s) {
    return s.size() >= 2 && s[0] == '-' && is_space_char(static_cast<unsigned char>(s[1]));
}

bool has_right_trim_marker(std::string_view s) {
    return s.size() >= 2 && is_space_char(static_cast<unsigned char>(s[0])) && s[1] == '-';
}

std::size_t right_trim_length(std::string_view s) {
    std::size_t n = s.size();
    while (n > 0 && is_space_char(static_cast<unsigned char>(s[n - 1]))) {
        --n;
    }
    return s.size() - n;
}

std::size_t left_trim_length(std::string_view s) {
    std::size_t n = 0;
    while (n < s.size() && is_space_char(static_cast<unsigned char>(s[n]))) {
        ++n;
    }
    return n;
}

ItemType keyword(std::string_view word) {
    if (word == ".") {
        return ItemType::dot;
    }
    if (word == "block") {
        return ItemType::block;
    }
    if (word == "break") {
        return ItemType::break_;
    }
    if (word == "continue") {
        return ItemType::continue_;
    }
    if (word == "define") {
        return ItemType::define;
    }
    if (word == "else") {
        return ItemType::else_;
    }
    if (word == "end") {
        return ItemType::end;
    }
    if (word == "if") {
        return ItemType::if_;
    }
    if (word == "range") {
        return ItemType::range;
    }
    if (word == "nil") {
        return ItemType::nil;
    }
    if (word == "template") {
        return ItemType::template_;
    }
    if (word == "with") {
        return ItemType::with;
    }
    return ItemType::error;
}

// %#U of a rune.
std::string format_rune_u(char32_t r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(r));
    std::string out = buf;
    if (is_print(r)) {
        out += " '";
        append_rune(out, r);
        out += "'";
    }
    return out;
}

enum class State {
    text,
    left_delim,
    comment,
    right_delim,
    inside_action,
    space,
    identifier,
    field,
    variable,
    chr,
    number,
    quote,
    raw_quote,
    done,
};

class Lexer {
  public:
    explicit Lexer(std::string_view input) : input_(input) { errors_.reserve(1); }

    LexResult run() {
        State state = State::text;
        while (state != State::done) {
            state = step(state);
        }
        return LexResult{std::move(items_), std::move(errors_)};
    }

  private:
    State step(State s) {
        switch (s) {
        case State::text:
            return lex_text();
        case State::left_delim:
            return lex_left_delim();
        case State::comment:
            return lex_comment();
        case State::right_delim:
            return lex_right_delim();
        case State::inside_action:
            return lex_inside_action();
        case State::space:
            return lex_space();
        case State::identifier:
            return lex_identifier();
        case State::field:
            return lex_field_or_variable(ItemType::field);
        case State::variable:
            return lex_variable();
        case State::chr:
            return lex_char();
        case State::number:
            return lex_number();
        case State::quote:
            return lex_quote();
        case State::raw_quote:
            return lex_raw_quote();
        case State::done:
            break;
        }
        return State::done;
    }

    char32_t next() {
        if (pos_ >= input_.size()) {
            width_ = 0;
            return kEof;
        }
        const auto c = static_cast<unsigned char>(input_[pos_]);
        if (c < 0x80) {
            width_ = 1;
            ++pos_;
            return c;
        }
        Decoded d = decode_rune(input_, pos_);
        width_ = d.size;
        pos_ += d.size;
        return d.rune;
    }

    char32_t peek() {
        const char32_t r = next();
        backup();
        return r;
    }

    void backup() { pos_ -= width_; }

    int line_at(std::size_t pos) {
        while (line_pos_ < pos && line_pos_ < input_.size()) {
            if (input_[line_pos_] == '\n') {
                ++line_;
            }
            ++line_pos_;
        }
        return line_;
    }

    void emit(ItemType t) {
        items_.push_back(Item{t, static_cast<std::uint32_t>(start_),
                              input_.substr(start_, pos_ - start_), line_at(start_)});
        start_ = pos_;
    }

    void ignore() { start_ = pos_; }

    bool accept(std::string_view valid) {
        const char32_t r = next();
        if (r != kEof && r < 0x80 && valid.find(static_cast<char>(r)) != std::string_view::npos) {
            return true;
        }
        backup();
        return false;
    }

    void accept_run(std::string_view valid) {
        while (true) {
            const char32_t r = next();
            if (r == kEof || r >= 0x80 ||
                valid.find(static_cast<char>(r)) == std::string_view::npos) {
                break;
            }
        }
        backup();
    }

    State errorf(std::string message) {
        errors_.push_back(std::move(message));
        items_.push_back(Item{ItemType::error, static_cast<std::uint32_t>(start_),
                              std::string_view(errors_.back()), line_at(start_)});
        return State::done;
    }

    State lex_text() {
        width_ = 0;
        const std::size_t x = input_.find(kLeftDelim, pos_);
        if (x != std::string_view::npos) {
            const std::size_t ldn = kLeftDelim.size();
            pos_ = x;
            std::size_t trim_length = 0;
            if (has_left_trim_marker(input_.substr(pos_ + ldn))) {
                trim_length = right_trim_length(input_.substr(start_, pos_ - start_));
            }
            pos_ -= trim_length;
            if (pos_ > start_) {
                emit(ItemType::text);
            }
            pos_ += trim_length;
            ignore();
            return State::left_delim;
        }
        pos_ = input_.size();
        if (pos_ > start_) {
            emit(ItemType::text);
        }
        emit(ItemType::eof);
        return State::done;
    }

    std::pair<bool, bool> at_right_delim() const {
        const std::string_view rest = input_.substr(pos_);
        if (has_right_trim_marker(rest) && rest.substr(kTrimMarkerLen).starts_with(kRightDelim)) {
            return {true, true};
        }
        if (rest.starts_with(kRightDelim)) {
            return {true, false};
        }
        return {false, false};
    }

    State lex_left_delim() {
        pos_ += kLeftDelim.size();
        const bool trim_space = has_left_trim_marker(input_.substr(pos_));
        const std::size_t after_marker = trim_space ? kTrimMarkerLen : 0;
        if (input_.substr(pos_ + after_marker).starts_with(kLeftComment)) {
            pos_ += after_marker;
            ignore();
            return State::comment;
        }
        emit(ItemType::left_delim);
        pos_ += after_marker;
        ignore();
        paren_depth_ = 0;
        return State::inside_action;
    }

    State lex_comment() {
        pos_ += kLeftComment.size();
        const std::size_t x = input_.find(kRightComment, pos_);
        if (x == std::string_view::npos) {
            return errorf("unclosed comment");
        }
        pos_ = x + kRightComment.size();
        auto [delim, trim_space] = at_right_delim();
        if (!delim) {
            return errorf("comment ends before closing delimiter");
        }
        if (trim_space) {
            pos_ += kTrimMarkerLen;
        }
        pos_ += kRightDelim.size();
        if (trim_space) {
            pos_ += left_trim_length(input_.substr(pos_));
        }
        ignore();
        return State::text;
    }

    State lex_right_delim() {
        const bool trim_space = has_right_trim_marker(input_.substr(pos_));
        if (trim_space) {
            pos_ += kTrimMarkerLen;
            ignore();
        }
        pos_ += kRightDelim.size();
        emit(ItemType::right_delim);
        if (trim_space) {
            pos_ += left_trim_length(input_.substr(pos_));
            ignore();
        }
        return State::text;
    }

    State lex_inside_action() {
        auto [delim, trim] = at_right_delim();
        (void)trim;
        if (delim) {
            if (paren_depth_ == 0) {
                return State::right_delim;
            }
            return errorf("unclosed left paren");
        }
        const char32_t r = next();
        if (r == kEof) {
            return errorf("unclosed action");
        }
        if (is_space_char(r)) {
            backup();
            return State::space;
        }
        switch (r) {
        case '=':
            emit(ItemType::assign);
            return State::inside_action;
        case ':':
            if (next() != '=') {
                return errorf("expected :=");
            }
            emit(ItemType::declare);
            return State::inside_action;
        case '|':
            emit(ItemType::pipe);
            return State::inside_action;
        case '"':
            return State::quote;
        case '`':
            return State::raw_quote;
        case '$':
            return State::variable;
        case '\'':
            return State::chr;
        case '.':
            if (pos_ < input_.size()) {
                const char c = input_[pos_];
                if (c < '0' || c > '9') {
                    return State::field;
                }
            }
            backup();
            return State::number;
        case '(':
            emit(ItemType::left_paren);
            ++paren_depth_;
            return State::inside_action;
        case ')':
            emit(ItemType::right_paren);
            --paren_depth_;
            if (paren_depth_ < 0) {
                return errorf("unexpected right paren " + format_rune_u(r));
            }
            return State::inside_action;
        default:
            break;
        }
        if (r == '+' || r == '-' || (r >= '0' && r <= '9')) {
            backup();
            return State::number;
        }
        if (is_alnum(r)) {
            backup();
            return State::identifier;
        }
        if (r < 0x80 && is_print(r)) {
            emit(ItemType::chr);
            return State::inside_action;
        }
        return errorf("unrecognized character in action: " + format_rune_u(r));
    }

    State lex_space() {
        int num_spaces = 0;
        while (is_space_char(peek())) {
            next();
            ++num_spaces;
        }
        if (has_right_trim_marker(input_.substr(pos_ - 1)) &&
            input_.substr(pos_ - 1 + kTrimMarkerLen).starts_with(kRightDelim)) {
            backup();
            if (num_spaces == 1) {
                return State::right_delim;
            }
        }
        emit(ItemType::space);
        return State::inside_action;
    }

    State lex_identifier() {
        while (true) {
            const char32_t r = next();
            if (is_alnum(r)) {
                continue;
            }
            backup();
            const std::string_view word = input_.substr(start_, pos_ - start_);
            if (!at_terminator()) {
                return errorf("bad character " + format_rune_u(r));
            }
            const ItemType kw = keyword(word);
            if (kw != ItemType::error) {
                emit(kw);
            } else if (word[0] == '.') {
                emit(ItemType::field);
            } else if (word == "true" || word == "false") {
                emit(ItemType::boolean);
            } else {
                emit(ItemType::identifier);
            }
            return State::inside_action;
        }
    }

    State lex_variable() {
        if (at_terminator()) {
            emit(ItemType::variable);
            return State::inside_action;
        }
        return lex_field_or_variable(ItemType::variable);
    }

    State lex_field_or_variable(ItemType typ) {
        if (at_terminator()) {
            emit(typ == ItemType::variable ? ItemType::variable : ItemType::dot);
            return State::inside_action;
        }
        char32_t r = 0;
        while (true) {
            r = next();
            if (!is_alnum(r)) {
                backup();
                break;
            }
        }
        if (!at_terminator()) {
            return errorf("bad character " + format_rune_u(r));
        }
        emit(typ);
        return State::inside_action;
    }

    bool at_terminator() {
        const char32_t r = peek();
        if (is_space_char(r)) {
            return true;
        }
        switch (r) {
        case kEof:
        case '.':
        case ',':
        case '|':
        case ':':
        case ')':
        case '(':
            return true;
        default:
            break;
        }
        return input_.substr(pos_).starts_with(kRightDelim);
    }

    State lex_char() {
        while (true) {
            char32_t r = next();
            if (r == '\\') {
                r = next();
                if (r != kEof && r != '\n') {
                    continue;
                }
                return errorf("unterminated character constant");
            }
            if (r == kEof || r == '\n') {
                return errorf("unterminated character constant");
            }
            if (r == '\'') {
                break;
            }
        }
        emit(ItemType::char_constant);
        return State::inside_action;
    }

    bool scan_number() {
        accept("+-");
        std::string_view digits = "0123456789_";
        if (accept("0")) {
            if (accept("xX")) {
                digits = "0123456789abcdefABCDEF_";
            } else if (accept("oO")) {
                digits = "01234567_";
            } else if (accept("bB")) {
                digits = "01_";
            }
        }
        accept_run(digits);
        if (accept(".")) {
            accept_run(digits);
        }
        if (digits.size() == 10 + 1 && accept("eE")) {
            accept("+-");
            accept_run("0123456789_");
        }
        if (digits.size() == 16 + 6 + 1 && accept("pP")) {
            accept("+-");
            accept_run("0123456789_");
        }
        accept("i");
        if (is_alnum(peek())) {
            next();
            return false;
        }
        return true;
    }

    State lex_number() {
        if (!scan_number()) {
            return errorf("bad number syntax: " + quoted(input_.substr(start_, pos_ - start_)));
        }
        const char32_t sign = peek();
        if (sign == '+' || sign == '-') {
            if (!scan_number() || input_[pos_ - 1] != 'i') {
                return errorf("bad number syntax: " + quoted(input_.substr(start_, pos_ - start_)));
            }
            emit(ItemType::complex);
        } else {
            emit(ItemType::number);
        }
        return State::inside_action;
    }

    static std::string quoted(std::string_view s) {
        std::string out;
        append_quote(out, s);
        return out;
    }

    State lex_quote() {
        while (true) {
            char32_t r = next();
            if (r == '\\') {
                r = next();
                if (r != kEof && r != '\n') {
                    continue;
                }
                return errorf("unterminated quoted string");
            }
            if (r == kEof || r == '\n') {
                return errorf("unterminated quoted string");
            }
            if (r == '"') {
                break;
            }
        }
        emit(ItemType::string);
        return State::inside_action;
    }

    State lex_raw_quote() {
        while (true) {
            const char32_t r = next();
            if (r == kEof) {
                return errorf("unterminated raw quoted string");
            }
            if (r == '`') {
                break;
            }
        }
        emit(ItemType::raw_string);
        return State::inside_action;
    }

    std::string_view input_;
    std::size_t pos_ = 0;
    std::size_t start_ = 0;
    std::size_t width_ = 0;
    int paren_depth_ = 0;
    std::size_t line_pos_ = 0;
    int line_ = 1;
    std::vector<Item> items_;
    std::vector<std::string> errors_;
};

} // namespace

LexResult lex(std::string_view input) {
    return Lexer(input).run();
}

std::string item_string(const Item& item) {
    if (item.type == ItemType::eof) {
        return "EOF";
    }
    if (item.type == ItemType::error) {
        return std::string(item.val);
    }
    if (item.type > ItemType::keyword) {
        return "<" + std::string(item.val) + ">";
    }
    std::string out;
    if (rune_count(item.val) > 10) {
        // %.10q: the first ten runes, quoted, then "...".
        std::size_t i = 0;
        for (int n = 0; n < 10; ++n) {
            i += decode_rune(item.val, i).size;
        }
        append_quote(out, item.val.substr(0, i));
        out += "...";
        return out;
    }
    append_quote(out, item.val);
    return out;
}

} // namespace portcullis::tmpl::detail
