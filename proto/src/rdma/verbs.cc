#include "zcfs/proto/rdma/verbs.h"

#include <cstdio>

namespace zcfs::rdma {

std::string_view wc_status_name(WcStatus status) {
  switch (status) {
    case WcStatus::kSuccess:
      return "IBV_WC_SUCCESS";
    case WcStatus::kLocLenErr:
      return "IBV_WC_LOC_LEN_ERR";
    case WcStatus::kLocQpOpErr:
      return "IBV_WC_LOC_QP_OP_ERR";
    case WcStatus::kLocProtErr:
      return "IBV_WC_LOC_PROT_ERR";
    case WcStatus::kWrFlushErr:
      return "IBV_WC_WR_FLUSH_ERR";
    case WcStatus::kLocAccessErr:
      return "IBV_WC_LOC_ACCESS_ERR";
    case WcStatus::kRemInvReqErr:
      return "IBV_WC_REM_INV_REQ_ERR";
    case WcStatus::kRemAccessErr:
      return "IBV_WC_REM_ACCESS_ERR";
    case WcStatus::kRemOpErr:
      return "IBV_WC_REM_OP_ERR";
    case WcStatus::kRetryExcErr:
      return "IBV_WC_RETRY_EXC_ERR";
    case WcStatus::kRnrRetryExcErr:
      return "IBV_WC_RNR_RETRY_EXC_ERR";
    case WcStatus::kGeneralErr:
      return "IBV_WC_GENERAL_ERR";
  }
  return "IBV_WC_(other)";
}

std::string_view qp_state_name(QpState state) {
  switch (state) {
    case QpState::kReset:
      return "RESET";
    case QpState::kInit:
      return "INIT";
    case QpState::kRtr:
      return "RTR";
    case QpState::kRts:
      return "RTS";
    case QpState::kError:
      return "ERR";
  }
  return "?";
}

uint64_t sg_length(std::span<const Sge> sg_list) {
  uint64_t total = 0;
  for (const Sge& s : sg_list) total += s.length;
  return total;
}

std::string gid_to_string(const Gid& gid) {
  char text[48];
  char* p = text;
  for (size_t i = 0; i < gid.size(); i += 2) {
    p += std::snprintf(p, text + sizeof(text) - p, "%s%02x%02x", i == 0 ? "" : ":", gid[i], gid[i + 1]);
  }
  return text;
}

}  // namespace zcfs::rdma
