import { getOption } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { AuthorizationRule, access_control } from '@meridian/proto';
import { describePrincipal, principalKey, type CredentialResolver, type Principal } from './principal';

// Authorization rules are read from each RPC's `access_control` option in the proto, the same
// place upstream declares them. An RPC without rules is closed to everyone.

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

function denial(principal: Principal, rules: AuthorizationRule[], message: unknown): string {
  const who = describePrincipal(principal);
  if (principal.kind === 'router') return 'routers may only classify';
  if (principal.kind === 'cell' && rules.includes(AuthorizationRule.RULE_ALLOW_MATCHING_CELL_ONLY)) {
    const cellId = (message as { cellId?: unknown }).cellId;
    return `${who} may not act for cell ${String(cellId)}`;
  }
  return `${who} may not call this method`;
}

export function createAuthInterceptor(resolver: CredentialResolver): Interceptor {
  // reading an option decodes the descriptor's extension bytes, so do it once per method
  const rulesByMethod = new Map<object, AuthorizationRule[]>();
  return (next) => async (req) => {
    const principal = resolver.resolve(req.header.get('authorization'));
    if (!principal) {
      throw new ConnectError('missing or unknown credential (Authorization: Bearer <token>)', Code.Unauthenticated);
    }
    req.contextValues.set(principalKey, principal);
    let rules = rulesByMethod.get(req.method);
    if (!rules) {
      rules = getOption(req.method, access_control).authorizationRules;
      rulesByMethod.set(req.method, rules);
    }
    const message = req.stream ? undefined : req.message;
    if (!rules.some((rule) => allowedBy(rule, principal, message))) {
      throw new ConnectError(denial(principal, rules, message), Code.PermissionDenied);
    }
    return next(req);
  };
}
