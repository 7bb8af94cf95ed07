import { InvalidInput } from '../../domain/errors';
import { own } from '../../domain/own';

/**
 * Field configs (`GET /api/v2/fieldconfig?type=…`): the fields Roster's profile endpoints return,
 * in the FieldConfig shape (sections of field lists). Keys are what `…/profile?fields=` takes.
 * Roster has groups and people; organisations and external contacts it does not hold.
 */
interface FieldDef {
  key: string;
  type: 'text' | 'longtext' | 'enum' | 'boolean' | 'number' | 'uuid' | 'image' | 'contact' | 'email' | 'date';
  required?: boolean;
  repeatable?: boolean;
  params?: Record<string, unknown>;
}

const section = (key: string, instructionText: string, fields: FieldDef[]) => ({
  key,
  state: 'active',
  instructionText,
  fieldList: fields.map((f) => ({
    key: f.key,
    type: f.type,
    state: 'active',
    required: f.required ?? false,
    repeatable: f.repeatable ?? false,
    customLabels: false,
    gdpr: false,
    labelKeys: [`${key}.${f.key}`],
    instructionText: '',
    params: f.params ?? {},
  })),
});

const CONFIGS: Record<string, { name: string; sections: ReturnType<typeof section>[] }> = {
  group: {
    name: 'Group profile',
    sections: [
      section('general', 'What the group is', [
        { key: 'description', type: 'longtext', params: { maxLength: 4000 } },
        { key: 'type', type: 'enum', required: true, params: { values: ['official', 'social'] } },
        { key: 'visibility', type: 'enum', required: true, params: { values: ['public', 'members', 'owners'] } },
        { key: 'rulesVisible', type: 'boolean', required: true },
        { key: 'memberCount', type: 'number' },
      ]),
      section('owners', 'Who owns the group', [{ key: 'ownerIds', type: 'uuid', repeatable: true }]),
      section('contactInfo', 'How to reach the group', [
        { key: 'addresses', type: 'contact', repeatable: true, params: { types: ['GROUPRING', 'GROUPPHONE'], mediaTypes: ['PHONE'] } },
        { key: 'images', type: 'image', repeatable: true },
      ]),
    ],
  },
  person: {
    name: 'Person profile',
    sections: [
      section('general', 'Who the person is', [
        { key: 'name', type: 'text', required: true },
        { key: 'username', type: 'text', required: true },
        { key: 'title', type: 'text' },
        { key: 'department', type: 'text' },
        { key: 'state', type: 'enum', params: { values: ['active', 'inactive'] } },
      ]),
      section('contactInfo', 'How to reach the person', [{ key: 'email', type: 'email' }]),
    ],
  },
};

/** The field config of an entity type; InvalidInput for types Roster has no fields for. */
export function fieldConfigOf(type: string) {
  const config = own(CONFIGS, type);
  if (!config) throw new InvalidInput(`Roster has no field config for type "${type}" (it has: ${Object.keys(CONFIGS).join(', ')})`, { field: 'type' });
  return {
    id: type,
    name: config.name,
    entityType: type,
    state: 'active',
    version: '1',
    schemaVersion: '1',
    sections: config.sections,
  };
}
