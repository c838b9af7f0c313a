import fs from 'node:fs';
import path from 'node:path';
import type { ChaosCluster } from './cluster';
import type { Random } from './random';

/**
 * Damages one blob the secondary has verified (verification succeeded) and not damaged before:
 * flips one byte of its file, or deletes it. Returns false when no such blob exists yet. Only
 * the file changes: the registry still says synced and verified, as after real disk rot.
 */
export async function damageVerifiedBlob(cluster: ChaosCluster, random: Random, kind: 'flip' | 'delete', damaged: Set<bigint>): Promise<boolean> {
  const rows = await cluster.trackingSql<{ id: bigint; blob_path: string }[]>`
    select package_file_id as id, blob_path from package_file_registry
    where state = 2 and verification_state = 2 and blob_path is not null order by package_file_id`;
  const candidates = rows.filter((r) => !damaged.has(r.id));
  if (candidates.length === 0) return false;
  const victim = random.pick(candidates);
  const file = path.join(cluster.secondaryRoot, victim.blob_path);
  try {
    if (kind === 'delete') {
      fs.rmSync(file);
    } else {
      const bytes = fs.readFileSync(file);
      const at = random.int(0, bytes.length - 1);
      bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
      fs.writeFileSync(file, bytes);
    }
  } catch {
    return false; // being resynced right now (renamed away): pick another next time
  }
  damaged.add(victim.id);
  return true;
}
