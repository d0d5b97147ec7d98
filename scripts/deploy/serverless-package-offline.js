"use strict";
/**
 * `serverless package` asks CloudFormation for the last deployed layer's hash (to skip
 * re-uploading an unchanged layer), which needs AWS credentials and network. Packaging is a
 * local step, so for the `package` command only that comparison is skipped; `deploy` keeps it.
 */
class PackageOffline {
  constructor(serverless) {
    const commands = (serverless.processedInput && serverless.processedInput.commands) || [];
    if (commands[0] !== "package") return;
    for (const plugin of serverless.pluginManager.getPlugins()) {
      if (typeof plugin.compareWithLastLayer === "function") {
        plugin.compareWithLastLayer = async () => undefined;
      }
    }
  }
}
module.exports = PackageOffline;
