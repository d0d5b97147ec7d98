import type { ActivateModelRequest, DeleteModelVersionRequest, ListModelsRequest } from "../../contract/models";
import type { ResultOf, Routes } from "../../contract/routes";
import type { UseCaseContext } from "../../context";
import { ConflictError } from "../../errors";
import { modelKeys } from "../../store/keys";
import type { VersionEntry } from "../../store/versionRepository";
import { identityEcho, identityOf } from "../identity";
import type { Services } from "../services";
import { changeVersions, chosenEntry, deleteVersionArtefacts, legacyState, versionListing } from "./versions";

/** GET /models: every version of a model, newest first, with its figures and calibration, and which is active. */
export async function listModelVersions(services: Services, input: ListModelsRequest, ctx: UseCaseContext): Promise<ResultOf<Routes["listModels"]>> {
  const identity = identityOf(input);
  const keys = modelKeys(services.config.s3.prefix, identity);
  const versions = (await services.versions.load(keys, ctx.timings))?.versions ?? (await legacyState(services, keys, ctx)).versions;
  return {
    ...identityEcho(identity),
    active_version: versions.active_version,
    versions: [...versions.versions].sort((a, b) => b.version - a.version).map((v) => versionListing(v, versions.active_version)),
  };
}

/**
 * POST /models/activate: serve another version from now on, its own calibration with it (a
 * rollback is the activation of the version before). One conditional write of the model's
 * versions: of two racing activations one wins whole; every container serves the new version
 * within CACHE_TTL_MS.
 */
export async function activateModelVersion(services: Services, input: ActivateModelRequest, ctx: UseCaseContext): Promise<ResultOf<Routes["activateModel"]>> {
  const identity = identityOf(input);
  const keys = modelKeys(services.config.s3.prefix, identity);
  const previous = await changeVersions(services, keys, ctx, (current) => {
    const entry = chosenEntry(current, identity, input.version);
    if (current.active_version === entry.version) return { versions: null, result: current.active_version };
    return { versions: { ...current, active_version: entry.version, previous_version: current.active_version }, result: current.active_version };
  });
  ctx.log.info("version activated", { ...identityEcho(identity), active_version: input.version, previous_version: previous });
  return { active_version: input.version, previous_version: previous, ...identityEcho(identity) };
}

/** DELETE /models/version: removes a version (not the active one: 409); its number is never given again. */
export async function deleteModelVersion(
  services: Services,
  input: DeleteModelVersionRequest,
  ctx: UseCaseContext,
): Promise<ResultOf<Routes["deleteModelVersion"]>> {
  const identity = identityOf(input);
  const keys = modelKeys(services.config.s3.prefix, identity);
  const version = input.version!;
  const removed: VersionEntry = await changeVersions(services, keys, ctx, (current) => {
    const entry = chosenEntry(current, identity, version);
    if (current.active_version === version) {
      throw new ConflictError(`Version ${version} is the active one: activate another (POST /models/activate) before deleting it`);
    }
    return { versions: { ...current, versions: current.versions.filter((v) => v !== entry) }, result: entry };
  });
  await deleteVersionArtefacts(services, keys, [removed], ctx);
  ctx.log.info("version deleted", { ...identityEcho(identity), version });
  return { deleted: true, version, ...identityEcho(identity) };
}
