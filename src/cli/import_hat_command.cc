#include "command.h"
#include "thanos/commands/import_hat.h"
#include "thanos/common/text.h"

namespace thanos::cli {

Command add_import_hat_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("import-hat", "Import a HAT (fairseq) SuperTransformer checkpoint as a THANOS "
                                                  "model file (needs Python with PyTorch; fairseq not needed)");
  auto opt = std::make_shared<ImportHatOptions>();
  auto sub_out = std::make_shared<std::string>();
  auto* ckpt = app->add_option("--checkpoint", opt->checkpoint_path, "HAT checkpoint (.pt, as HAT's download_model.py "
                                                                     "fetches or HAT's training writes)")
                   ->check(CLI::ExistingFile);
  auto* archive = app->add_option("--archive", opt->archive_path, "Instead of --checkpoint: a tensor archive "
                                                                  "tools/hat_import.py already wrote")
                      ->check(CLI::ExistingFile);
  ckpt->excludes(archive);
  app->add_option("--out", opt->out_path, "THANOS model file to write (a SuperTransformer)")->required();
  app->add_option("--python", opt->python, "Python interpreter with PyTorch that runs the converter")->capture_default_str();
  app->add_option("--converter", opt->converter, "Path of tools/hat_import.py (default: " + default_hat_converter() + ")");
  app->add_option("--keep-archive", opt->keep_archive, "Keep the intermediate tensor archive at this path");
  app->add_option("--subtransformer-out", *sub_out, "For HAT SubTransformer checkpoints: write the SubTransformer "
                                                    "config their args record (HAT YAML) here");
  return {app, [=]() {
            ImportHatResult r = run_import_hat(*opt);
            print_warnings(r.warnings);
            std::cout << "wrote " << opt->out_path << " (SuperTransformer imported from HAT: " << r.parameters
                      << " parameters in " << r.tensors << " tensors, vocabulary " << r.src_vocab_size;
            if (r.tgt_vocab_size != r.src_vocab_size) std::cout << "/" << r.tgt_vocab_size;
            std::cout << ")\n";
            if (!r.subtransformer_yaml.empty()) {
              if (!sub_out->empty()) {
                write_file_atomically(*sub_out, r.subtransformer_yaml);
                std::cout << "wrote " << *sub_out << " (the SubTransformer the checkpoint's args record; extract it "
                          << "with thanos extract --checkpoint " << opt->out_path << " --config " << *sub_out << ")\n";
              } else {
                std::cout << "the checkpoint's args record a SubTransformer; --subtransformer-out FILE writes its "
                             "config\n";
              }
            }
            return 0;
          }};
}

}  // namespace thanos::cli
