#include "command.h"
#include "thanos/data/corpus_builder.h"

namespace thanos::cli {

Command add_corpus_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("corpus", "Build the bundled English-German corpus from Debian's German message "
                                              "catalogs, already unpacked (scripts/build-corpus.sh fetches them)");
  auto opt = std::make_shared<CorpusBuildOptions>();
  app->add_option("--unpacked", opt->unpacked_dir, "Directory the packages were unpacked into (dpkg -x)")
      ->required()->check(CLI::ExistingDirectory);
  app->add_option("--packages-file", opt->packages_file, "The packages used, one 'name version' per line")
      ->required()->check(CLI::ExistingFile);
  app->add_option("--out", opt->out_dir, "Output directory (replaced as a whole): train/valid/test .en/.de and "
                                         "manifest.json")->required();
  app->add_option("--locale", opt->locale, "Catalog locale directory to read")->capture_default_str();
  app->add_flag("--keep-context", opt->keep_context_entries,
                "Also read entries that have a gettext context (the context itself is dropped)");
  app->add_option("--test-permille", opt->test_permille, "Share of split keys that go to test, per mille")
      ->check(CLI::Range(0, 1000))->capture_default_str();
  app->add_option("--valid-permille", opt->valid_permille, "Share of split keys that go to valid, per mille")
      ->check(CLI::Range(0, 1000))->capture_default_str();
  return {app, [=]() {
            CorpusBuildReport r = build_corpus(*opt);
            print_warnings(r.warnings);
            std::int64_t dropped = 0;
            for (const auto& [reason, n] : r.dropped) dropped += n;
            std::cout << "corpus " << r.out_dir << ": " << r.catalogs << " catalogs from " << r.packages.size()
                      << " packages, " << r.entries << " entries\n"
                      << "  pairs: train " << r.train << ", valid " << r.valid << ", test " << r.test << "\n"
                      << "  dropped " << dropped << ":";
            for (const auto& reason : corpus_drop_reasons()) {
              if (r.dropped.at(reason)) std::cout << " " << reason << " " << r.dropped.at(reason) << ";";
            }
            std::cout << "\n  inputs hash " << r.inputs_hash << "\n";
            return 0;
          }};
}

}  // namespace thanos::cli
