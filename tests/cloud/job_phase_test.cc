#include "controller/cloud/job_phase.h"

#include <gtest/gtest.h>

#include <string>

namespace mactl {
namespace {

TEST(JobPhaseTest, EveryDocumentedPhaseHasItsClass) {
  struct Row {
    std::string_view phase;
    JobPhaseClass expected;
  };
  const Row rows[] = {
      {"Creating", JobPhaseClass::kTerminable}, {"Pending", JobPhaseClass::kTerminable},
      {"Running", JobPhaseClass::kTerminable},  {"Terminating", JobPhaseClass::kTerminating},
      {"Completed", JobPhaseClass::kTerminal},  {"Failed", JobPhaseClass::kTerminal},
      {"Terminated", JobPhaseClass::kTerminal}, {"Abnormal", JobPhaseClass::kTerminal},
  };
  ASSERT_EQ(std::size(rows), kDocumentedJobPhases.size());
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    EXPECT_EQ(rows[i].phase, kDocumentedJobPhases[i]);
    EXPECT_EQ(ClassifyJobPhase(rows[i].phase), rows[i].expected) << rows[i].phase;
  }
}

TEST(JobPhaseTest, AnythingElseIsUnknown) {
  for (std::string_view phase : {"", "running", "RUNNING", "Running ", "Queuing", "Unknown", "Lost",
                                 "Killed", "Stopped", "Hibernating"}) {
    EXPECT_EQ(ClassifyJobPhase(phase), JobPhaseClass::kUnknown) << phase;
  }
}

TEST(JobPhaseTest, EveryDocumentedSecondaryPhaseHasItsClass) {
  struct Row {
    std::string_view secondary;
    JobPhaseClass expected;
  };
  const Row rows[] = {
      {"Creating", JobPhaseClass::kTerminable},
      {"Queuing", JobPhaseClass::kTerminable},
      {"Running", JobPhaseClass::kTerminable},
      {"Failed", JobPhaseClass::kTerminal},
      {"Completed", JobPhaseClass::kTerminal},
      {"Terminating", JobPhaseClass::kTerminating},
      {"Terminated", JobPhaseClass::kTerminal},
      {"CreateFailed", JobPhaseClass::kTerminal},
      {"TerminatedFailed", JobPhaseClass::kTerminal},
      {"Unknown", JobPhaseClass::kUnknown},
      {"Lost", JobPhaseClass::kTerminal},
  };
  ASSERT_EQ(std::size(rows), kDocumentedSecondaryPhases.size());
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    EXPECT_EQ(rows[i].secondary, kDocumentedSecondaryPhases[i]);
    EXPECT_EQ(ClassifySecondaryPhase(rows[i].secondary), rows[i].expected) << rows[i].secondary;
  }
  EXPECT_EQ(ClassifySecondaryPhase(""), JobPhaseClass::kUnknown);
  EXPECT_EQ(ClassifySecondaryPhase("Queueing"), JobPhaseClass::kUnknown);
}

// Every documented phase against every documented secondary phase (and none, and an
// undocumented one): the phase decides, and a secondary phase only holds back a terminate.
TEST(JobPhaseTest, EveryPairOfPhaseAndSecondaryPhase) {
  std::vector<std::string_view> secondaries(kDocumentedSecondaryPhases.begin(),
                                            kDocumentedSecondaryPhases.end());
  secondaries.push_back("");
  secondaries.push_back("SomethingNew");
  std::vector<std::string_view> phases(kDocumentedJobPhases.begin(), kDocumentedJobPhases.end());
  phases.push_back("SomethingNew");
  for (std::string_view phase : phases) {
    for (std::string_view secondary : secondaries) {
      SCOPED_TRACE(std::string(phase) + "/" + std::string(secondary));
      const JobPhaseClass primary = ClassifyJobPhase(phase);
      const JobPhaseClass second = ClassifySecondaryPhase(secondary);
      const JobPhaseClass both = ClassifyJobPhases(phase, secondary);
      if (primary != JobPhaseClass::kTerminable) {
        EXPECT_EQ(both, primary);
      } else if (second == JobPhaseClass::kTerminating || second == JobPhaseClass::kTerminal) {
        EXPECT_EQ(both, JobPhaseClass::kTerminating);
      } else {
        EXPECT_EQ(both, JobPhaseClass::kTerminable);
      }
    }
  }
  // The documented pairings, spelled out.
  EXPECT_EQ(ClassifyJobPhases("Running", "Running"), JobPhaseClass::kTerminable);
  EXPECT_EQ(ClassifyJobPhases("Creating", "Creating"), JobPhaseClass::kTerminable);
  EXPECT_EQ(ClassifyJobPhases("Pending", "Queuing"), JobPhaseClass::kTerminable);
  EXPECT_EQ(ClassifyJobPhases("Terminating", "Terminating"), JobPhaseClass::kTerminating);
  EXPECT_EQ(ClassifyJobPhases("Abnormal", "CreateFailed"), JobPhaseClass::kTerminal);
  EXPECT_EQ(ClassifyJobPhases("Abnormal", "TerminatedFailed"), JobPhaseClass::kTerminal);
  EXPECT_EQ(ClassifyJobPhases("Running", "Terminating"), JobPhaseClass::kTerminating);
  EXPECT_EQ(ClassifyJobPhases("Running", "Unknown"), JobPhaseClass::kTerminable);
  EXPECT_EQ(ClassifyJobPhases("Hibernating", "Running"), JobPhaseClass::kUnknown);
}

TEST(JobPhaseTest, ClassNames) {
  EXPECT_EQ(JobPhaseClassName(JobPhaseClass::kUnknown), "unknown");
  EXPECT_EQ(JobPhaseClassName(JobPhaseClass::kTerminable), "terminable");
  EXPECT_EQ(JobPhaseClassName(JobPhaseClass::kTerminating), "terminating");
  EXPECT_EQ(JobPhaseClassName(JobPhaseClass::kTerminal), "terminal");
}

}  // namespace
}  // namespace mactl
