import { SourceType, SubjectType, withClaims, type ClaimsWriter, type Row } from '@meridian/claims';
import { describeClaimableModel } from '@meridian/claims/conformance';
import {
  cellClaimables,
  cellModelMigrations,
  emailClaimable,
  gpgKeyClaimable,
  keyClaimable,
  namespaceClaimable,
  organizationClaimable,
  projectClaimable,
  redirectRouteClaimable,
  routeClaimable,
  serviceDeskSettingClaimable,
  userClaimable,
} from '../src';

// Every reference claimable model runs the shared examples in one call each.

const common = { models: cellClaimables, schema: cellModelMigrations };

const org = (w: ClaimsWriter, n: number) => w.insert(organizationClaimable, { name: `org-${n}`, path: `org-${n}` });
const namespace = async (w: ClaimsWriter, n: number) => {
  const o = await org(w, n);
  return w.insert(namespaceClaimable, { organization_id: o.id, name: `ns-${n}`, path: `ns-${n}` });
};
const project = async (w: ClaimsWriter, n: number) => {
  const ns = await namespace(w, n);
  return w.insert(projectClaimable, { organization_id: ns.organization_id, namespace_id: ns.id, name: `p-${n}`, path: `p-${n}` });
};
const user = (w: ClaimsWriter, n: number) => w.insert(userClaimable, { username: `user-${n}` });

describeClaimableModel('User (with its emails)', {
  ...common,
  model: userClaimable,
  expected: { subjectType: SubjectType.USER, subjectKey: 'id', sourceType: SourceType.RAILS_TABLE_USERS, attributes: ['id', 'username'] },
  async create(w, _p, n) {
    const u = await w.insert(userClaimable, { username: `person-${n}` });
    await w.insert(emailClaimable, { user_id: u.id, email: `person-${n}@example.com` });
    return u;
  },
  transform: (row) => ({ username: String(row.username).split('').reverse().join('') }),
});

describeClaimableModel('Email', {
  ...common,
  model: emailClaimable,
  expected: { subjectType: SubjectType.USER, subjectKey: 'user_id', sourceType: SourceType.RAILS_TABLE_EMAILS, attributes: ['email'] },
  parents: user,
  create: (w, u: Row, n) => w.insert(emailClaimable, { user_id: u.id, email: `mail-${n}@example.com` }),
  transform: (_row, n) => ({ email: `changed-${n}@example.com` }),
});

describeClaimableModel('Key (SSH)', {
  ...common,
  model: keyClaimable,
  expected: { subjectType: SubjectType.USER, subjectKey: 'user_id', sourceType: SourceType.RAILS_TABLE_KEYS, attributes: ['fingerprint'] },
  parents: user,
  create: (w, u: Row, n) => w.insert(keyClaimable, { user_id: u.id, key: `ssh-ed25519 AAAA${n}`, fingerprint: `SHA256:key-${n}` }),
  transform: (_row, n) => ({ fingerprint: `SHA256:rotated-${n}` }),
});

describeClaimableModel('GPG key', {
  ...common,
  model: gpgKeyClaimable,
  expected: { subjectType: SubjectType.USER, subjectKey: 'user_id', sourceType: SourceType.RAILS_TABLE_GPG_KEYS, attributes: ['fingerprint'] },
  parents: user,
  create: (w, u: Row, n) => w.insert(gpgKeyClaimable, { user_id: u.id, key: `-----BEGIN PGP PUBLIC KEY BLOCK----- ${n}`, fingerprint: `GPG${n}` }),
  transform: (_row, n) => ({ fingerprint: `GPG-ROTATED-${n}` }),
});

describeClaimableModel('Organization', {
  ...common,
  model: organizationClaimable,
  expected: { subjectType: SubjectType.ORGANIZATION, subjectKey: 'id', sourceType: SourceType.RAILS_TABLE_ORGANIZATIONS, attributes: ['id', 'path'] },
  create: (w, _p, n) => org(w, n),
  transform: (_row, n) => ({ path: `renamed-org-${n}` }),
});

describeClaimableModel('Namespace', {
  ...common,
  model: namespaceClaimable,
  expected: { subjectType: SubjectType.NAMESPACE, subjectKey: 'id', sourceType: SourceType.RAILS_TABLE_NAMESPACES, attributes: ['id'] },
  parents: org,
  async create(w, o: Row, n) {
    const ns = await w.insert(namespaceClaimable, { organization_id: o.id, name: `group-${n}`, path: `group-${n}` });
    await w.insert(routeClaimable, { namespace_id: ns.id, path: `group-${n}` });
    return ns;
  },
});

describeClaimableModel('Project', {
  ...common,
  model: projectClaimable,
  expected: { subjectType: SubjectType.PROJECT, subjectKey: 'id', sourceType: SourceType.RAILS_TABLE_PROJECTS, attributes: ['id'] },
  parents: namespace,
  create: (w, ns: Row, n) => w.insert(projectClaimable, { organization_id: ns.organization_id, namespace_id: ns.id, name: `proj-${n}`, path: `proj-${n}` }),
});

describeClaimableModel('Route (top-level paths only)', {
  ...common,
  model: routeClaimable,
  expected: { subjectType: SubjectType.NAMESPACE, subjectKey: 'namespace_id', sourceType: SourceType.RAILS_TABLE_ROUTES, attributes: ['path'] },
  parents: namespace,
  async create(w, ns: Row, n) {
    await w.insert(routeClaimable, { namespace_id: ns.id, path: `top-${n}/nested` }); // not claimed
    return w.insert(routeClaimable, { namespace_id: ns.id, path: `top-${n}` });
  },
  transform: (_row, n) => ({ path: `moved-${n}` }),
});

describeClaimableModel('Redirect route', {
  ...common,
  model: redirectRouteClaimable,
  expected: { subjectType: SubjectType.NAMESPACE, subjectKey: 'namespace_id', sourceType: SourceType.RAILS_TABLE_REDIRECT_ROUTES, attributes: ['path'] },
  parents: namespace,
  create: (w, ns: Row, n) => w.insert(redirectRouteClaimable, { namespace_id: ns.id, path: `old-${n}/path` }),
  transform: (_row, n) => ({ path: `older-${n}` }),
});

describeClaimableModel('Service desk setting', {
  ...common,
  model: serviceDeskSettingClaimable,
  expected: { subjectType: SubjectType.PROJECT, subjectKey: 'project_id', sourceType: SourceType.RAILS_TABLE_SERVICE_DESK_SETTINGS, attributes: ['custom_email'] },
  parents: project,
  create: (w, p: Row, n) => w.insert(serviceDeskSettingClaimable, { project_id: p.id, custom_email: `support-${n}@example.com` }),
  transform: (_row, n) => ({ custom_email: `help-${n}@example.com` }),
});

test('the route condition: a nested path is never claimed', () => {
  expect(routeClaimable.claimsOf({ id: 1n, namespace_id: 1n, path: 'a/b' })).toEqual([]);
  expect(routeClaimable.scope).toBe("strpos(path, '/') = 0");
  void withClaims;
});
