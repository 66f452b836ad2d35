#include "api/yaml_tree.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <sstream>

#include "api/printable.h"

namespace mactl {
namespace {

// Builds one document at a time. Problems stop the building, not the parse, so the
// parser stays in step and later documents of the file are still read.
class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(const YamlLimits& limits) : limits_(limits) {}

  YamlDocument TakeDocument() { return std::move(document_); }
  bool HasRoot() const { return has_root_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    document_ = YamlDocument{};
    document_.line = mark.line + 1;
    document_.column = mark.column + 1;
    stack_.clear();
    nodes_ = 0;
    has_root_ = false;
    pending_key_.clear();
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    YamlNode node = Leaf(mark, YamlNode::Kind::kNull);
    Attach(std::move(node));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Problem(mark, "aliases (*name) are not allowed in manifests");
    Attach(Leaf(mark, YamlNode::Kind::kNull));
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                const std::string& value) override {
    YamlNode node = Leaf(mark, YamlNode::Kind::kScalar);
    if (value.size() > limits_.max_scalar_bytes) {
      Problem(mark,
              "a value is longer than " + std::to_string(limits_.max_scalar_bytes) + " bytes");
    } else {
      node.value = value;
    }
    // yaml-cpp tags quoted scalars "!" and plain ones "?".
    node.quoted = tag == "!";
    Attach(std::move(node));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Open(Leaf(mark, YamlNode::Kind::kSequence));
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Open(Leaf(mark, YamlNode::Kind::kMap));
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YamlNode node;
    bool expecting_value = false;  // maps: the next child is a value
    YamlNode key;
  };

  YamlNode Leaf(const YAML::Mark& mark, YamlNode::Kind kind) {
    YamlNode node;
    node.kind = kind;
    node.line = mark.line + 1;
    node.column = mark.column + 1;
    if (++nodes_ == limits_.max_nodes_per_document + 1) {
      Problem(mark, "the document has more than " + std::to_string(limits_.max_nodes_per_document) +
                        " nodes");
    }
    return node;
  }

  void Problem(const YAML::Mark& mark, std::string reason) {
    if (document_.problems.size() < 20) {
      document_.problems.push_back(YamlProblem{mark.line + 1, mark.column + 1, std::move(reason)});
    }
  }

  bool Building() const { return document_.problems.empty(); }

  void Open(YamlNode node) {
    if (stack_.size() >= limits_.max_depth && Building()) {
      document_.problems.push_back(
          YamlProblem{node.line, node.column,
                      "nesting is deeper than " + std::to_string(limits_.max_depth) + " levels"});
    }
    ++depth_;
    if (!Building()) return;
    stack_.push_back(Frame{std::move(node), false, {}});
  }

  void Close() {
    --depth_;
    if (!Building() || stack_.empty()) return;
    YamlNode done = std::move(stack_.back().node);
    stack_.pop_back();
    Attach(std::move(done));
  }

  void Attach(YamlNode node) {
    if (!Building()) return;
    if (stack_.empty()) {
      document_.root = std::move(node);
      has_root_ = document_.root.kind != YamlNode::Kind::kNull;
      return;
    }
    Frame& parent = stack_.back();
    if (parent.node.kind == YamlNode::Kind::kSequence) {
      parent.node.items.push_back(std::move(node));
    } else if (!parent.expecting_value) {
      parent.key = std::move(node);
      parent.expecting_value = true;
    } else {
      parent.node.entries.push_back(YamlEntry{std::move(parent.key), std::move(node)});
      parent.expecting_value = false;
    }
  }

  const YamlLimits& limits_;
  YamlDocument document_;
  std::vector<Frame> stack_;
  std::size_t nodes_ = 0;
  std::size_t depth_ = 0;
  bool has_root_ = false;
  std::string pending_key_;
};

}  // namespace

std::string_view YamlNode::KindName() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return "a scalar";
    case Kind::kSequence:
      return "a list";
    case Kind::kMap:
      return "a mapping";
  }
  return "null";
}

YamlParseResult ParseYaml(std::string_view content, const YamlLimits& limits) {
  YamlParseResult result;
  std::istringstream stream{std::string(content)};
  TreeBuilder builder(limits);
  try {
    YAML::Parser parser(stream);
    std::size_t documents = 0;
    while (parser.HandleNextDocument(builder)) {
      if (++documents > limits.max_documents) {
        result.syntax_error = true;
        result.error = YamlProblem{
            1, 1, "the file has more than " + std::to_string(limits.max_documents) + " documents"};
        break;
      }
      YamlDocument document = builder.TakeDocument();
      if (builder.HasRoot() || !document.problems.empty()) {
        result.documents.push_back(std::move(document));
      }
    }
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard fires before our depth check sees the nodes; its text ("bad
    // file") does not say what is wrong.
    result.syntax_error = true;
    result.error = YamlProblem{e.mark.line + 1, e.mark.column + 1,
                               "nesting is deeper than " + std::to_string(limits.max_depth) +
                                   " levels (yaml-cpp stopped parsing it)"};
  } catch (const YAML::Exception& e) {
    // Some messages end with the offending input byte ("unknown escape character: " and the
    // byte after the backslash, an ESC or a line break as well).
    result.syntax_error = true;
    result.error =
        YamlProblem{e.mark.line + 1, e.mark.column + 1, "invalid YAML: " + PrintableExcerpt(e.msg)};
  } catch (const std::exception& e) {
    result.syntax_error = true;
    result.error = YamlProblem{1, 1, "invalid YAML: " + PrintableExcerpt(e.what())};
  }
  return result;
}

}  // namespace mactl
