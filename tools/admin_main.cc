// clientreg-admin: the operators' CLI over the ClientAdmin (and, for resolve and check-redirect, ClientDirectory) gRPC
// APIs. All logic is in admin_commands.cc.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tools/admin_commands.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return clientreg::tools::RunAdminCli(args, std::getenv("CLIENTREG_SERVER"), std::cout, std::cerr);
}
