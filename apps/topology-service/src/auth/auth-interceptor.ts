import { getOption, type DescMethod } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import { AuthorizationRule, access_control } from '@meridian/proto';
import { describePrincipal, principalKey, type CredentialResolver, type Principal } from './principal';

// Authorization rules are read from each RPC's `access_control` option in the proto, the same
// place upstream declares them. An RPC without rules is closed to everyone.
//
// Two steps. The request gate runs when the headers are in and before Connect reads the body: an
// unknown credential, or one no rule of the method can allow whatever the message says, is
// refused there, so its body is never read. The interceptor runs on the decoded message and
// checks the rules that depend on it (a cell may act only for its own cell_id).

function allowedBy(rule: AuthorizationRule, principal: Principal, message: unknown): boolean {
  switch (rule) {
    case AuthorizationRule.RULE_ALLOW_ANY_AUTHENTICATED:
      return true;
    case AuthorizationRule.RULE_ALLOW_ANY_CELL:
      return principal.kind === 'cell';
    case AuthorizationRule.RULE_ALLOW_ANY_ROUTER:
      return principal.kind === 'router';
    case AuthorizationRule.RULE_ALLOW_ANY_ADMIN:
      return principal.kind === 'admin';
    case AuthorizationRule.RULE_ALLOW_MATCHING_CELL_ONLY: {
      const cellId = (message as { cellId?: unknown }).cellId;
      return principal.kind === 'cell' && typeof cellId === 'bigint' && cellId === principal.cellId;
    }
    default:
      return false;
  }
}

/** Whether some rule may allow the principal once the message is known. */
function mayBeAllowed(rule: AuthorizationRule, principal: Principal): boolean {
  if (rule === AuthorizationRule.RULE_ALLOW_MATCHING_CELL_ONLY) return principal.kind === 'cell';
  return allowedBy(rule, principal, undefined);
}

function denial(principal: Principal, rules: AuthorizationRule[], message: unknown): string {
  const who = describePrincipal(principal);
  if (principal.kind === 'router') return 'routers may only classify';
  if (principal.kind === 'cell' && rules.includes(AuthorizationRule.RULE_ALLOW_MATCHING_CELL_ONLY)) {
    const cellId = (message as { cellId?: unknown } | undefined)?.cellId;
    if (cellId !== undefined) return `${who} may not act for cell ${String(cellId)}`;
  }
  return `${who} may not call this method`;
}

export interface Authorization {
  /** for connectNodeAdapter's `requestGate` */
  gate(context: HandlerContext): void;
  interceptor: Interceptor;
}

export function createAuthorization(resolver: CredentialResolver): Authorization {
  // reading an option decodes the descriptor's extension bytes, so do it once per method
  const rulesByMethod = new Map<DescMethod, AuthorizationRule[]>();
  const rulesOf = (method: DescMethod) => {
    let rules = rulesByMethod.get(method);
    if (!rules) {
      rules = getOption(method, access_control).authorizationRules;
      rulesByMethod.set(method, rules);
    }
    return rules;
  };
  return {
    gate(context) {
      const principal = resolver.resolve(context.requestHeader.get('authorization'));
      if (!principal) {
        throw new ConnectError('missing or unknown credential (Authorization: Bearer <token>)', Code.Unauthenticated);
      }
      context.values.set(principalKey, principal);
      const rules = rulesOf(context.method);
      if (!rules.some((rule) => mayBeAllowed(rule, principal))) {
        throw new ConnectError(denial(principal, rules, undefined), Code.PermissionDenied);
      }
    },
    interceptor: (next) => async (req) => {
      const principal = req.contextValues.get(principalKey);
      if (!principal) throw new ConnectError('missing or unknown credential (Authorization: Bearer <token>)', Code.Unauthenticated);
      const rules = rulesOf(req.method);
      const message = req.stream ? undefined : req.message;
      if (!rules.some((rule) => allowedBy(rule, principal, message))) {
        throw new ConnectError(denial(principal, rules, message), Code.PermissionDenied);
      }
      return next(req);
    },
  };
}
