// The PostgreSQL statement kinds (libpg-query node names) in each built-in SQL class, as a table.
// Node kinds not listed are in no class (SELECT, INSERT, SET, transaction control, ...). Conditions
// that need a node's fields (COPY's target, an UPDATE's WHERE, ALTER TABLE ... DROP COLUMN, a
// rename of a role) are in pg-analyze.ts.
import type { SqlClass } from '../rule-spec.js';

const DDL = [
  'CreateStmt', 'CreateTableAsStmt', 'AlterTableStmt', 'DropStmt', 'RenameStmt', 'CommentStmt', 'TruncateStmt', 'ReindexStmt',
  'IndexStmt', 'CreateSchemaStmt', 'ViewStmt', 'CreateFunctionStmt', 'AlterFunctionStmt', 'CreateSeqStmt', 'AlterSeqStmt',
  'CreateDomainStmt', 'AlterDomainStmt', 'CreateEnumStmt', 'AlterEnumStmt', 'CompositeTypeStmt', 'CreateRangeStmt', 'DefineStmt',
  'CreateTrigStmt', 'CreatePLangStmt', 'RuleStmt', 'CreateExtensionStmt', 'AlterExtensionStmt', 'AlterExtensionContentsStmt',
  'CreatedbStmt', 'AlterDatabaseStmt', 'AlterDatabaseSetStmt', 'AlterDatabaseRefreshCollStmt', 'DropdbStmt', 'CreateTableSpaceStmt',
  'DropTableSpaceStmt', 'AlterTableSpaceOptionsStmt', 'AlterTableMoveAllStmt', 'CreateFdwStmt', 'AlterFdwStmt',
  'CreateForeignServerStmt', 'AlterForeignServerStmt', 'CreateForeignTableStmt', 'CreateUserMappingStmt', 'AlterUserMappingStmt',
  'DropUserMappingStmt', 'ImportForeignSchemaStmt', 'CreatePolicyStmt', 'AlterPolicyStmt', 'CreateAmStmt', 'CreateEventTrigStmt',
  'AlterEventTrigStmt', 'CreateTransformStmt', 'CreatePublicationStmt', 'AlterPublicationStmt', 'CreateSubscriptionStmt',
  'AlterSubscriptionStmt', 'DropSubscriptionStmt', 'CreateStatsStmt', 'AlterStatsStmt', 'AlterObjectSchemaStmt', 'AlterOwnerStmt',
  'AlterObjectDependsStmt', 'AlterOperatorStmt', 'AlterTypeStmt', 'AlterCollationStmt', 'CreateCastStmt', 'CreateOpClassStmt',
  'CreateOpFamilyStmt', 'AlterOpFamilyStmt', 'CreateConversionStmt', 'AlterTSDictionaryStmt', 'AlterTSConfigurationStmt',
  'DropOwnedStmt', 'ReassignOwnedStmt', 'SecLabelStmt', 'CreateRoleStmt', 'AlterRoleStmt', 'AlterRoleSetStmt', 'DropRoleStmt',
];

const TABLE: ReadonlyArray<readonly [SqlClass, readonly string[]]> = [
  ['ddl', DDL],
  ['drop', ['DropStmt', 'DropdbStmt', 'DropRoleStmt', 'DropOwnedStmt', 'DropTableSpaceStmt', 'DropSubscriptionStmt', 'DropUserMappingStmt']],
  ['truncate', ['TruncateStmt']],
  ['grant', ['GrantStmt', 'GrantRoleStmt', 'CreateRoleStmt', 'AlterRoleStmt', 'AlterRoleSetStmt', 'DropRoleStmt', 'AlterDefaultPrivilegesStmt']],
  ['alter-system', ['AlterSystemStmt']],
];

/** Node kind → the classes it is in by kind alone. */
export const PG_CLASSES_OF_NODE: ReadonlyMap<string, readonly SqlClass[]> = (() => {
  const m = new Map<string, SqlClass[]>();
  for (const [cls, nodes] of TABLE) for (const n of nodes) m.set(n, [...(m.get(n) ?? []), cls]);
  return m;
})();
