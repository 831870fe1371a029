# depotd proposal action, version 1. Installed by `depotd erp setup` under an xml id carrying
# a digest of this code (depotd.action_proposal_<digest>): do not edit it in Odoo.
#
# Turns one approved depot replenishment proposal into an internal transfer request, exactly
# once by (depot, proposal id), inside the one database transaction of this call. Input:
# env.context['depotd'], built by depotd (uplink/odoo/proposals.go):
#   key        the ir.model.data name in module 'depotd' (proposal_<depot>_<id>)
#   depot, id  the depot and its proposal id (for the transfer's origin)
#   warehouse  the depot's warehouse code
#   item       the product's internal reference; qty the quantity in its unit (a decimal string)
#   dest       complete name of the Odoo location to replenish
#   source     'central' (the warehouse the depot's warehouse resupplies from, Odoo's
#              "Resupply From") or the complete name of a location of the depot's warehouse
#   note       what the depot said (who approved, why)
# Output: {'depotd': {'status': ..., 'model': ..., 'res_id': ..., 'picking': ...}}:
#   created    a confirmed internal stock.picking from the source's stock to dest (res_id);
#              for central, when the resupply route Odoo made for "Resupply From" goes
#              through a transit location, its two legs instead, chained (the central's
#              delivery to transit, then the depot's receipt from it to dest, res_id)
#   covered    Odoo already has an open replenishment of the product into dest: an open
#              stock.move (any state but done and cancel, drafts included) into dest or below
#              it from outside it. No second request is made; the key points at that move.
#   duplicate  the key exists: nothing done; model and res_id say what it points at
# A refusal that is the data's fault raises UserError('<CODE>: <message>').
#
# Exactly once: the key is created (and flushed) before anything else. A second call for
# the same key running at the same time waits on the unique index of ir_model_data; when
# the first commits it fails, and its retry finds the key: 'duplicate'.


def fail(code, msg):
    raise UserError('%s: %s' % (code, msg))


req = env.context.get('depotd') or {}
key = req.get('key') or ''
res = {}
existing = env['ir.model.data'].search([('module', '=', 'depotd'), ('name', '=', key or '-')], limit=1)
if not key.startswith('proposal_'):
    res['status'] = 'bad_request'
elif existing:
    res.update(status='duplicate', model=existing.model, res_id=existing.res_id)
else:
    wh = env['stock.warehouse'].search([('code', '=', req.get('warehouse') or '-')], limit=1)
    if not wh:
        fail('UNKNOWN_WAREHOUSE', 'no Odoo warehouse has the short name %s' % req.get('warehouse'))
    prod = env['product.product'].search([('default_code', '=', req.get('item') or '-')])
    if not prod:
        fail('UNKNOWN_ITEM', 'no Odoo product has the internal reference %s' % req.get('item'))
    if len(prod) > 1:
        fail('AMBIGUOUS_ITEM', '%d Odoo products have the internal reference %s' % (len(prod), req.get('item')))
    dest = env['stock.location'].search([('complete_name', '=', req.get('dest') or '-'), ('usage', '=', 'internal')], limit=1)
    if not dest:
        fail('UNKNOWN_LOCATION', 'no internal Odoo location is named %s' % req.get('dest'))
    qty = float(req.get('qty') or 0)
    if qty <= 0:
        fail('BAD_QTY', '%s is not a positive quantity' % req.get('qty'))
    imd = env['ir.model.data'].create({'module': 'depotd', 'name': key, 'model': 'stock.picking', 'res_id': 0, 'noupdate': True})
    imd.flush_recordset()
    inside = set(env['stock.location'].search([('id', 'child_of', dest.id)]).ids)
    cover = env['stock.move']
    for mv in env['stock.move'].search([('product_id', '=', prod.id), ('location_dest_id', 'in', list(inside)),
                                        ('state', 'not in', ('done', 'cancel'))], order='id'):
        if mv.location_id.id not in inside:
            cover = mv
            break
    if cover:
        imd.write({'model': 'stock.move', 'res_id': cover.id})
        if cover.picking_id:
            cover.picking_id.message_post(body='depotd: replenishment proposal %s of depot %s (%s %s) is covered by this transfer' % (
                req.get('id'), req.get('depot'), req.get('qty'), prod.uom_id.name))
        res.update(status='covered', model='stock.move', res_id=cover.id, picking=cover.picking_id.name or '')
    else:
        legs = []
        if req.get('source') == 'central':
            central = wh.resupply_wh_ids[:1]
            if not central:
                fail('NO_SOURCE', 'warehouse %s resupplies from no warehouse: set "Resupply From" on it in Odoo' % wh.code)
            src = central.lot_stock_id
            ptype = central.int_type_id
            # The resupply route Odoo made for "Resupply From": when it goes through a transit
            # location, follow its two legs (the central's delivery to transit, the depot's
            # receipt from it), chained, instead of one internal transfer.
            route = env['stock.route'].search([('supplier_wh_id', '=', central.id), ('supplied_wh_id', '=', wh.id)], limit=1)
            out_rule = route.rule_ids.filtered(lambda r: r.action in ('pull', 'pull_push') and r.location_dest_id.usage == 'transit')[:1]
            in_rule = route.rule_ids.filtered(lambda r: r.action in ('pull', 'pull_push') and r.location_src_id.usage == 'transit')[:1]
            if out_rule and in_rule and out_rule.picking_type_id and in_rule.picking_type_id:
                legs = [(out_rule.picking_type_id, out_rule.location_src_id, out_rule.location_dest_id),
                        (in_rule.picking_type_id, in_rule.location_src_id, dest)]
        else:
            src = env['stock.location'].search([('complete_name', '=', req.get('source') or '-'), ('usage', '=', 'internal'),
                                                ('warehouse_id', '=', wh.id)], limit=1)
            if not src:
                fail('UNKNOWN_LOCATION', 'no internal location of warehouse %s is named %s' % (wh.code, req.get('source')))
            ptype = wh.int_type_id
        if not legs:
            if not ptype:
                fail('NO_SOURCE', 'the source warehouse has no internal operation type')
            legs = [(ptype, src, dest)]
        origin = 'depotd %s proposal %s' % (req.get('depot'), req.get('id'))
        prev = env['stock.move']
        picking = env['stock.picking']
        names = []
        for leg in legs:
            mvals = {'product_id': prod.id, 'product_uom': prod.uom_id.id, 'product_uom_qty': qty,
                     'location_id': leg[1].id, 'location_dest_id': leg[2].id}
            if prev:
                mvals['move_orig_ids'] = [Command.set(prev.ids)]
                mvals['procure_method'] = 'make_to_order'
            picking = env['stock.picking'].create({
                'picking_type_id': leg[0].id, 'location_id': leg[1].id, 'location_dest_id': leg[2].id,
                'origin': origin, 'note': req.get('note') or False, 'move_ids': [Command.create(mvals)]})
            picking.action_confirm()
            prev = picking.move_ids
            names.append(picking.name)
        # The key points at the transfer that arrives at the depot's location.
        imd.write({'res_id': picking.id})
        res.update(status='created', model='stock.picking', res_id=picking.id, picking=picking.name, legs=names)
action = {'depotd': res}
