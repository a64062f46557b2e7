/** Every command Nearby contributes (package.json `contributes.commands`). */
export const enum CommandId {
  Search = 'nearby.search',
  FindSimilar = 'nearby.findSimilar',
  Pause = 'nearby.pause',
  Resume = 'nearby.resume',
  Cancel = 'nearby.cancel',
  Rebuild = 'nearby.rebuild',
  ShowPanel = 'nearby.showPanel',
  ShowLogs = 'nearby.showLogs',
  ShowDupes = 'nearby.showDupes',
  ShowMap = 'nearby.showMap',
}

export const PANEL_VIEW_ID = 'nearby.panel';
